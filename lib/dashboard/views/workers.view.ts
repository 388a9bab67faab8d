import type { WorkerHeartbeat } from '../../core/contracts/control-store.js';
import type { DashboardAuditEntry } from '../dashboard-audit.js';
import { duration, html, type Raw, time } from './html.js';
import { actionForm, type PageContext, tableOf } from './layout.js';

/** The workers page: heartbeats, stats, pause/resume per queue, shutdown, revoke. */
export function workersView(ctx: PageContext, workers: readonly WorkerHeartbeat[], queues: readonly string[], paused: ReadonlySet<string>, now: number): Raw {
  const rows = workers.map(
    (w) =>
      html`<tr data-worker="${w.workerId}">
        <td>${w.workerId}</td>
        <td>${w.host}:${w.pid}</td>
        <td>${w.version}</td>
        <td>${w.queues.map((q) => html`${q}${w.pausedQueues.includes(q) ? html` <span class="badge paused">paused</span>` : ''} `)}</td>
        <td class="num">${w.active}/${w.concurrency}</td>
        <td class="num">${w.succeeded}</td>
        <td class="num">${w.failed}</td>
        <td class="num">${w.retried}</td>
        <td>${duration(now - w.startedAt)}</td>
        <td>${time(w.sentAt)}</td>
        <td>
          ${actionForm(ctx, 'worker-shutdown', { worker: w.workerId, mode: 'warm' }, 'Shut down', { confirm: `Shut down worker ${w.workerId} (warm: running tasks finish)?`, danger: true })}
        </td>
      </tr>`,
  );
  const queueRows = queues.map(
    (q) =>
      html`<tr data-queue="${q}">
        <td>${q}</td>
        <td>${paused.has(q) ? html`<span class="badge paused">paused</span>` : 'consuming'}</td>
        <td class="num">${workers.filter((w) => w.queues.includes(q)).length}</td>
        <td>
          ${paused.has(q) ? actionForm(ctx, 'queue-resume', { queue: q, back: '/workers' }, 'Resume') : actionForm(ctx, 'queue-pause', { queue: q, back: '/workers' }, 'Pause', { confirm: `Pause queue ${q} for every worker?` })}
        </td>
      </tr>`,
  );
  const revoke = ctx.readOnly
    ? html``
    : html`<form method="post" action="${ctx.base}/actions/revoke" class="filters" data-confirm="Revoke these tasks?">
        <input type="hidden" name="_csrf" value="${ctx.csrf}" /><input type="hidden" name="back" value="/workers" />
        <label>Task ids <input name="ids" class="wide" placeholder="id, id, ..." /></label
        ><label><input type="checkbox" name="terminate" value="true" /> terminate if running</label><button type="submit" class="danger">Revoke</button>
      </form>`;
  return html`<section>
      <h2>Live workers</h2>
      ${tableOf(['Worker', 'Host', 'Version', 'Queues', 'Active', 'Succeeded', 'Failed', 'Retried', 'Up', 'Heartbeat', ''], rows, 'No live workers (no heartbeat within the last 3 intervals).', 'workers')}
    </section>
    <section>
      <h2>Queues</h2>
      <p class="hint">A pause is stored, so it holds for workers that start later; running tasks finish.</p>
      ${tableOf(['Queue', 'State', 'Workers', ''], queueRows, 'No queues.', 'worker-queues')}
    </section>
    <section>
      <h2>Revoke tasks</h2>
      ${ctx.readOnly ? html`<p class="hint">Read-only.</p>` : revoke}
    </section>`;
}

/** The audit page. */
export function auditView(_ctx: PageContext, entries: readonly DashboardAuditEntry[]): Raw {
  return tableOf(
    ['When', 'Who', 'Action', 'Target', 'Count', 'Result'],
    entries.map(
      (e) =>
        html`<tr>
          <td>${time(e.at)}</td>
          <td>${e.who}</td>
          <td>${e.action}</td>
          <td>${e.target}</td>
          <td class="num">${e.count}</td>
          <td>${e.ok ? 'ok' : html`<span class="badge s-failed">failed</span> ${e.detail ?? ''}`}</td>
        </tr>`,
    ),
    'No action taken yet.',
    'audit',
  );
}
