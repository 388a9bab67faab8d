import type { ScheduleEntry } from '../../core/contracts/schedule-store.js';
import { duration, html, type Raw, time } from './html.js';
import { actionForm, type PageContext, tableOf } from './layout.js';

function specText(entry: ScheduleEntry): string {
  const spec = entry.spec as unknown as Record<string, unknown>;
  const detail = Object.entries(spec)
    .filter(([k]) => k !== 'kind')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${entry.spec.kind}${detail ? ` ${detail}` : ''}`;
}

/** The schedules page. */
export function schedulesView(ctx: PageContext, entries: readonly ScheduleEntry[] | null): Raw {
  if (!entries) return html`<p class="empty">No schedule store is configured.</p>`;
  const rows = entries.map(
    (e) =>
      html`<tr data-schedule="${e.id}">
        <td>${e.id}</td>
        <td>${e.task}</td>
        <td><code>${specText(e)}</code></td>
        <td>${e.enabled ? 'enabled' : html`<span class="badge paused">disabled</span>`}</td>
        <td>${e.enabled ? time(e.nextRunAt) : '—'}</td>
        <td>${time(e.lastRunAt)}</td>
        <td class="num">${e.runCount}</td>
        <td>${e.drift === undefined ? '—' : duration(Math.abs(e.drift))}</td>
        <td>${e.lastError ? html`${time(e.lastErrorAt)} ${e.lastError}` : '—'}</td>
        <td>
          ${e.enabled ? actionForm(ctx, 'schedule-disable', { id: e.id }, 'Disable') : actionForm(ctx, 'schedule-enable', { id: e.id }, 'Enable')}${actionForm(ctx, 'schedule-run', { id: e.id }, 'Run now', { confirm: `Enqueue ${e.task} now?` })}
        </td>
      </tr>`,
  );
  return tableOf(['Id', 'Task', 'When', 'State', 'Next run', 'Last run', 'Runs', 'Drift', 'Last error', ''], rows, 'No schedules.', 'schedules');
}
