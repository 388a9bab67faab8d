import type { ThroughputBucket } from '../../core/contracts/introspection.js';
import { type Overview, TASK_STATES } from '../dashboard-data.js';
import { duration, html, query, type Raw, time } from './html.js';
import { actionForm, type PageContext, tableOf } from './layout.js';

/** An inline SVG bar chart of finished tasks per bucket (succeeded over failed). */
export function throughputChart(buckets: readonly ThroughputBucket[]): Raw {
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const w = 12;
  const h = 60;
  const bars = buckets.map((b, i) => {
    const ok = (b.succeeded / max) * h;
    const bad = (b.failed / max) * h;
    const label = `${new Date(b.at).toISOString().slice(11, 16)}: ${b.succeeded} succeeded, ${b.failed} failed`;
    return html`<g
      ><title>${label}</title><rect class="ok" x="${i * w}" y="${h - ok}" width="${w - 2}" height="${ok}" /><rect
        class="bad"
        x="${i * w}"
        y="${h - ok - bad}"
        width="${w - 2}"
        height="${bad}"
    /></g>`;
  });
  return html`<svg
    class="chart"
    viewBox="0 0 ${buckets.length * w} ${h}"
    width="${buckets.length * w * 2}"
    height="${h * 1.5}"
    role="img"
    aria-label="tasks finished per 5 minutes"
  >
    ${bars}
  </svg>`;
}

/** The overview page: per-queue counts, throughput, workers. */
export function overviewView(ctx: PageContext, o: Overview): Raw {
  const total = o.throughput.reduce((n, b) => n + b.succeeded + b.failed, 0);
  const idle = o.queues.filter((q) => q.consumers === 0);
  const rows = o.queues.map((q) => {
    const stat = (field: string, value: number | null, suffix = '') => html`<td class="num" data-stat="${q.queue}:${field}">${value === null ? '—' : `${value}${suffix}`}</td>`;
    return html`<tr data-queue="${q.queue}">
      <td>
        <a href="${ctx.base}/tasks${query({ queue: q.queue })}">${q.queue}</a
        >${q.paused ? html` <span class="badge paused">paused</span>` : ''}${q.consumers === 0 ? html` <span class="badge warn" title="no live worker consumes this queue">no worker</span>` : ''}
      </td>
      ${stat('pending', q.pending)}${stat('inflight', q.inflight)}${stat('delayed', q.delayed)}
      <td class="num" data-stat="${q.queue}:deadLetters">
        <a href="${ctx.base}/dead-letters${query({ queue: q.queue })}">${q.deadLetters === null ? '—' : `${q.deadLetters}${q.deadLettersCapped ? '+' : ''}`}</a>
      </td>
      ${stat('doneLastHour', q.doneLastHour)}
      <td class="num" data-stat="${q.queue}:oldest">${q.oldestReadyAt === null ? '—' : duration(o.at - q.oldestReadyAt)}</td>
      <td class="num">${q.consumers}</td>
      <td>
        ${q.paused ? actionForm(ctx, 'queue-resume', { queue: q.queue }, 'Resume') : actionForm(ctx, 'queue-pause', { queue: q.queue }, 'Pause', { confirm: `Pause queue ${q.queue} for every worker?` })}
      </td>
    </tr>`;
  });
  return html` ${idle.map((q) => html`<p class="warning" data-testid="no-worker-warning">No live worker consumes queue <b>${q.queue}</b>: its tasks wait until one starts.</p>`)}
    <section class="cards">
      <div class="card"><span class="label">Workers alive</span><span class="big" data-stat="workers">${o.workers.length}</span></div>
      <div class="card">
        <span class="label">Finished, last hour</span
        ><span class="big" data-stat="finished">${total}</span>${o.throughputSampled ? html`<span class="hint">from the newest 1,000 statuses</span>` : ''}
      </div>
      ${
        o.states
          ? TASK_STATES.map(
              (s) =>
                html`<div class="card">
                  <span class="label">${s}</span><span class="big" data-stat="state:${s}"><a href="${ctx.base}/tasks${query({ state: s })}">${o.states![s]}</a></span>
                </div>`,
            )
          : ''
      }
    </section>
    <section>
      <h2>Throughput (5-minute buckets, last hour)</h2>
      <div data-live-chart>${throughputChart(o.throughput)}</div>
    </section>
    <section>
      <h2>Queues</h2>
      ${tableOf(['Queue', 'Ready', 'In flight', 'Delayed', 'Dead letters', 'Done (1 h)', 'Oldest waiting', 'Workers', ''], rows, 'No queues yet: enqueue a task or start a worker.', 'queues')}
    </section>
    <section>
      <h2>Workers</h2>
      ${tableOf(
        ['Worker', 'Host', 'Queues', 'Active', 'Last heartbeat'],
        o.workers.map(
          (w) =>
            html`<tr>
              <td><a href="${ctx.base}/workers">${w.workerId}</a></td>
              <td>${w.host}:${w.pid}</td>
              <td>${w.queues.join(', ')}</td>
              <td class="num">${w.active}/${w.concurrency}</td>
              <td>${time(w.sentAt)}</td>
            </tr>`,
        ),
        'No live workers (no heartbeat within the last 3 intervals).',
      )}
    </section>
    <p class="hint">Updated ${time(o.at)}; live while this page is open.</p>`;
}
