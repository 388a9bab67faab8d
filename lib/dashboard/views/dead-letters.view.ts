import { type DeadLetterListing, type DeadLetterQuery, errorTypeOf } from '../dashboard-dead-letters.js';
import type { DashboardRedact } from '../dashboard.options.js';
import { html, json, query, type Raw, time } from './html.js';
import { actionForm, type PageContext, tableOf } from './layout.js';

/** The dead-letters page of one queue: groups, filters, entries, and the bulk actions behind a dry run. */
export function deadLettersView(ctx: PageContext, queues: readonly string[], q: DeadLetterQuery, listing: DeadLetterListing | null, redact: DashboardRedact): Raw {
  const picker = html`<form method="get" class="filters" action="${ctx.base}/dead-letters">
    <label
      >Queue
      <select name="queue">
        ${queues.map((name) => html`<option${name === q.queue ? html` selected` : ''}>${name}</option>`)}
      </select></label
    >
    <label>Reason <input name="reason" value="${q.reason ?? ''}" /></label>
    <label>Error type <input name="errorType" value="${q.errorType ?? ''}" /></label>
    <button type="submit">Show</button>
  </form>`;
  if (!q.queue)
    return html`${picker}
      <p class="empty">Pick a queue.</p>`;
  if (!listing)
    return html`${picker}
      <p class="empty">This broker cannot list dead letters.</p>`;
  const groups = listing.groups.map(
    (g) =>
      html`<tr>
        <td><a href="${ctx.base}/dead-letters${query({ queue: q.queue, reason: g.reason, errorType: g.errorType === '—' ? undefined : g.errorType })}">${g.reason}</a></td>
        <td>${g.errorType}</td>
        <td class="num">${g.count}</td>
        <td>${time(g.lastAt)}</td>
      </tr>`,
  );
  const rows = listing.items.map((e) => {
    const error = redact(e.meta.error, { kind: 'error', name: e.envelope.name }) as { message?: unknown } | undefined;
    return html`<tr data-dead-letter="${e.envelope.id}">
      <td><a href="${ctx.base}/tasks/${encodeURIComponent(e.envelope.id)}${query({ queue: q.queue })}">${e.envelope.id}</a></td>
      <td>${e.envelope.name}</td>
      <td>${e.reason}</td>
      <td>${errorTypeOf(e)}${error && typeof error.message === 'string' && error.message ? `: ${error.message}` : ''}</td>
      <td class="num">${e.envelope.attempt}</td>
      <td>${time(e.deadAt)}</td>
      <td>
        <details>
          <summary>args</summary>
          <pre>${json(redact(e.envelope.args, { kind: 'args', name: e.envelope.name }))}</pre>
        </details>
      </td>
      <td>
        ${actionForm(ctx, 'dead-letter-replay', { queue: q.queue, id: e.envelope.id }, 'Replay')}${actionForm(ctx, 'dead-letter-purge', { queue: q.queue, id: e.envelope.id }, 'Purge', { confirm: `Delete the dead letter of ${e.envelope.id} for good?`, danger: true })}
      </td>
    </tr>`;
  });
  const bulk = ctx.readOnly
    ? html``
    : html`<form method="post" action="${ctx.base}/actions/dead-letters-bulk" class="filters" data-testid="bulk">
        <input type="hidden" name="_csrf" value="${ctx.csrf}" /><input type="hidden" name="queue" value="${q.queue}" /><input type="hidden" name="dryRun" value="true" />
        ${q.reason ? html`<input type="hidden" name="reason" value="${q.reason}" />` : ''}${q.errorType ? html`<input type="hidden" name="errorType" value="${q.errorType}" />` : ''}
        <label>Dead since <input name="since" placeholder="1h, 30m, ISO date" /></label><label>At most <input name="limit" value="100" size="5" /></label>
        <label
          >Action
          <select name="op">
            <option value="replay">replay</option>
            <option value="purge">purge</option>
          </select></label
        >
        <button type="submit">Count first (dry run)</button>
      </form>`;
  return html`${picker}
    <section>
      <h2>By reason and error type</h2>
      ${tableOf(['Reason', 'Error type', 'Count', 'Newest'], groups, 'No dead letters.', 'dead-letter-groups')}
      ${listing.capped ? html`<p class="hint">Groups cover the newest ${listing.scanned} dead letters.</p>` : ''}
    </section>
    <section>
      <h2>Replay or purge many</h2>
      ${bulk}
      <p class="hint" data-testid="bulk-scope">
        The oldest dead letters of the queue${filtered(q)}, dead since the time given; you see the count and the ids before anything changes.
      </p>
    </section>
    <section>
      <h2>Entries</h2>
      ${tableOf(['Task id', 'Task', 'Reason', 'Error', 'Attempt', 'Dead at', '', ''], rows, 'No dead letter matches.', 'dead-letters')}
      <p class="paging">
        ${listing.nextOffset !== undefined ? html`<a href="${ctx.base}/dead-letters${query({ queue: q.queue, reason: q.reason, errorType: q.errorType, offset: listing.nextOffset })}">more →</a>` : ''}
      </p>
    </section>`;
}

/** The page's filters in words (`with reason "expired" and error type "TypeError"`), or nothing. */
function filtered(q: DeadLetterQuery): string {
  const parts = [q.reason ? `reason "${q.reason}"` : '', q.errorType ? `error type "${q.errorType}"` : ''].filter(Boolean);
  return parts.length ? ` with ${parts.join(' and ')}` : '';
}

/** The confirmation page after a dry run: the count, the ids, and the button that does it. */
export function confirmView(ctx: PageContext, message: string, preview: readonly string[], action: string, fields: Record<string, string | undefined>, label: string): Raw {
  return html`<p class="notice" data-testid="dry-run">${message}</p>
    <ul class="ids">
      ${preview.slice(0, 200).map((id) => html`<li>${id}</li>`)}
    </ul>
    ${preview.length > 200 ? html`<p class="hint">and ${preview.length - 200} more</p>` : ''} ${preview.length > 0 ? actionForm(ctx, action, fields, label, { danger: true }) : ''}
    <a href="${ctx.base}/dead-letters${query({ queue: fields.queue, reason: fields.reason, errorType: fields.errorType })}">Back</a>`;
}
