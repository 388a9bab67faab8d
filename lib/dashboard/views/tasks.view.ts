import { CanvasMeta } from '../../core/canvas/canvas.constants.js';
import type { TaskStatusPage } from '../../core/contracts/result-backend.js';
import { StemHeaders } from '../../core/envelope.js';
import { type TaskDetail, type TaskQuery, TASK_STATES } from '../dashboard-data.js';
import type { DashboardRedact } from '../dashboard.options.js';
import { groupLink } from './groups.view.js';
import { html, json, query, type Raw, shownError, time } from './html.js';
import { actionForm, badge, type PageContext, tableOf } from './layout.js';

/** The tasks page: filters in a GET form (shareable URL), a page of statuses, paging links. */
export function tasksView(ctx: PageContext, q: TaskQuery & { argsText?: string }, page: TaskStatusPage, canSearchArgs: boolean): Raw {
  const keep = { state: q.state, queue: q.queue, name: q.name, id: q.id, args: q.argsText };
  const rows = page.items.map(
    (s) =>
      html`<tr>
        <td><a href="${ctx.base}/tasks/${encodeURIComponent(s.id)}">${s.id}</a></td>
        <td>${s.name ?? '—'}</td>
        <td>${s.queue ?? '—'}</td>
        <td>${badge(s.state)}</td>
        <td class="num">${s.attempt}</td>
        <td>${time(s.updatedAt)}</td>
        <td>${s.error ? `${s.error.type}: ${s.error.message}` : ''}</td>
      </tr>`,
  );
  const offset = q.offset ?? 0;
  return html` <form method="get" class="filters" action="${ctx.base}/tasks">
      <label>Queue <input name="queue" value="${q.queue ?? ''}" /></label>
      <label
        >State
        <select name="state">
          <option value="">any</option>
          ${TASK_STATES.map((s) => html`<option${q.state === s ? html` selected` : ''}>${s}</option>`)}
        </select></label
      >
      <label>Name <input name="name" value="${q.name ?? ''}" /></label>
      <label>Id <input name="id" value="${q.id ?? ''}" placeholder="id or its start" /></label>
      ${canSearchArgs ? html`<label>Args contain <input name="args" value="${q.argsText ?? ''}" placeholder='{"orderId":"42"}' class="wide" /></label>` : html`<span class="hint">Searching by arguments needs the Postgres result backend.</span>`}
      <button type="submit">Search</button>
    </form>
    ${tableOf(['Id', 'Task', 'Queue', 'State', 'Attempt', 'Updated', 'Error'], rows, 'No task matches.', 'tasks')}
    <p class="paging">
      ${offset > 0 ? html`<a href="${ctx.base}/tasks${query({ ...keep, offset: Math.max(0, offset - (q.limit ?? 50)) })}">← newer</a>` : ''}
      ${page.nextOffset !== undefined ? html`<a href="${ctx.base}/tasks${query({ ...keep, offset: page.nextOffset })}" data-testid="next-page">older →</a>` : ''}
    </p>`;
}

/** The task detail page; `groupLinks` makes its group and chord ids links to their group pages. */
export function taskDetailView(ctx: PageContext, id: string, d: TaskDetail, redact: DashboardRedact, groupLinks = false): Raw {
  const s = d.status;
  if (!s && !d.deadLetter) return html`<p class="empty">No status for task ${id}: unknown, expired, or its task ignores results.</p>`;
  const name = s?.name ?? d.deadLetter?.envelope.name;
  const queue = s?.queue ?? d.deadLetter?.envelope.queue;
  const meta = s?.meta ?? {};
  const parent = meta['stem.parentTaskId'] as string | undefined;
  const root = meta['stem.rootTaskId'] as string | undefined;
  const headers = d.deadLetter?.envelope.headers ?? {};
  const group = headers[StemHeaders.groupId] ?? (meta[CanvasMeta.groupId] as string | undefined);
  const chord = headers[StemHeaders.chordId];
  const link = (taskId: string) => html`<a href="${ctx.base}/tasks/${encodeURIComponent(taskId)}">${taskId}</a>`;
  const error = shownError(redact, s?.error ?? d.deadLetter?.meta.error, name);
  return html` <dl class="facts" data-live-task="${id}">
      <dt>Id</dt>
      <dd>${id}</dd>
      <dt>Task</dt>
      <dd>${name ?? '—'}</dd>
      <dt>Queue</dt>
      <dd>${queue ?? '—'}</dd>
      <dt>State</dt>
      <dd data-field="state">${s ? badge(s.state) : badge('dead-letter')}</dd>
      <dt>Attempt</dt>
      <dd data-field="attempt">${s?.attempt ?? d.deadLetter?.envelope.attempt}</dd>
      <dt>Progress</dt>
      <dd data-field="progress">${s?.progress ? html`<progress max="100" value="${s.progress.percent}"></progress> ${s.progress.percent}%` : '—'}</dd>
      <dt>Created</dt>
      <dd>${time(s?.createdAt)}</dd>
      <dt>Updated</dt>
      <dd data-field="updated">${time(s?.updatedAt)}</dd>
      <dt>Heartbeat</dt>
      <dd>${time(s?.heartbeatAt)}</dd>
      <dt>Trace id</dt>
      <dd>${d.traceId ?? '—'}</dd>
      <dt>Lineage</dt>
      <dd>${parent ? html`parent ${link(parent)} ` : ''}${root && root !== parent ? html`root ${link(root)}` : ''}${!parent && !root ? '—' : ''}</dd>
      <dt>Canvas</dt>
      <dd>${group ? html`group ${groupLink(ctx, group, groupLinks)} ` : ''}${chord ? html`chord ${groupLink(ctx, chord, groupLinks)}` : ''}${!group && !chord ? '—' : ''}</dd>
    </dl>
    ${s && queue && !['succeeded', 'failed', 'cancelled'].includes(s.state) ? actionForm(ctx, 'revoke', { ids: id, terminate: 'true', back: `/tasks/${encodeURIComponent(id)}` }, 'Revoke (terminate)', { confirm: `Revoke task ${id}?`, danger: true }) : ''}
    ${d.deadLetter && queue ? html`<p class="warning">Dead letter: ${d.deadLetter.reason} at ${time(d.deadLetter.deadAt)} ${actionForm(ctx, 'dead-letter-replay', { queue, id, back: `/tasks/${encodeURIComponent(id)}` }, 'Replay')}</p>` : ''}
    <h2>Arguments</h2>
    <pre data-testid="args">${d.hasArgs ? json(redact(d.args, { kind: 'args', ...(name ? { name } : {}) })) : 'not recorded by this result backend'}</pre>
    <h2>Result</h2>
    <pre data-testid="result">${s && 'payload' in s ? json(redact(s.payload, { kind: 'result', ...(name ? { name } : {}) })) : '—'}</pre>
    ${
      error
        ? html`<h2>Error</h2>
            <pre class="err" data-testid="error">${error}</pre>`
        : ''
    }
    <h2>Meta</h2>
    <pre data-testid="meta">${json(redact(meta, { kind: 'meta', ...(name ? { name } : {}) }))}</pre>`;
}
