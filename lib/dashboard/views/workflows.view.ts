import type { RunState, StepCheckpoint, WorkflowStatus, WorkflowWatcher } from '../../core/workflow/run-state.js';
import type { DashboardRedact } from '../dashboard.options.js';
import { html, json, query, type Raw, shownError, time } from './html.js';
import { actionForm, badge, type PageContext, tableOf } from './layout.js';

/** Workflow statuses, in the order the filter lists them. */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['running', 'suspended', 'completed', 'failed', 'cancelled'];

/** The workflows page: runs by status, and waiters by topic. */
export function workflowsView(
  ctx: PageContext,
  status: WorkflowStatus | undefined,
  runs: readonly RunState[] | null,
  watchers: readonly WorkflowWatcher[],
  offset: number,
  more: boolean,
): Raw {
  if (!runs) return html`<p class="empty">No workflow store is configured.</p>`;
  const tabs = html`<p class="tabs">
    <a href="${ctx.base}/workflows" ${!status ? html` aria-current="page"` : ''}>all</a
    >${WORKFLOW_STATUSES.map((s) => html` <a href="${ctx.base}/workflows${query({ status: s })}" ${status === s ? html` aria-current="page"` : ''}>${s}</a>`)}
  </p>`;
  const rows = runs.map(
    (r) =>
      html`<tr>
        <td><a href="${ctx.base}/workflows/${encodeURIComponent(r.id)}">${r.id}</a></td>
        <td>${r.workflow}</td>
        <td>${badge(r.status)}</td>
        <td class="num">${r.cursor}</td>
        <td>${r.waitTopic ?? '—'}</td>
        <td>${time(r.updatedAt)}</td>
      </tr>`,
  );
  const waits = watchers.map(
    (w) =>
      html`<tr>
        <td>${w.topic}</td>
        <td><a href="${ctx.base}/workflows/${encodeURIComponent(w.runId)}">${w.runId}</a></td>
        <td>${w.workflow}</td>
        <td>${w.step}</td>
        <td>${time(w.deadline)}</td>
        <td>${time(w.createdAt)}</td>
      </tr>`,
  );
  return html`${tabs}${tableOf(['Run', 'Workflow', 'Status', 'Steps', 'Waiting on', 'Updated'], rows, 'No runs.', 'runs')}
    <p class="paging">${more ? html`<a href="${ctx.base}/workflows${query({ status, offset: offset + runs.length })}">more →</a>` : ''}</p>
    <section>
      <h2>Waiting on events</h2>
      ${tableOf(['Topic', 'Run', 'Workflow', 'Step', 'Deadline', 'Since'], waits, 'No run waits on an event.', 'waiters')}
    </section>`;
}

/** One run: facts, suspension, checkpoints, cancel and rewind (with its dry run). */
export function workflowRunView(ctx: PageContext, run: RunState | null, steps: readonly StepCheckpoint[], redact: DashboardRedact): Raw {
  if (!run) return html`<p class="empty">No such run.</p>`;
  const ended = ['completed', 'failed', 'cancelled'].includes(run.status);
  const back = `/workflows/${encodeURIComponent(run.id)}`;
  return html`<dl class="facts">
      <dt>Run</dt>
      <dd>${run.id}</dd>
      <dt>Workflow</dt>
      <dd>${run.workflow}</dd>
      <dt>Status</dt>
      <dd>${badge(run.status)}</dd>
      <dt>Parent</dt>
      <dd>${run.parentRunId ? html`<a href="${ctx.base}/workflows/${encodeURIComponent(run.parentRunId)}">${run.parentRunId}</a>` : '—'}</dd>
      <dt>Created</dt>
      <dd>${time(run.createdAt)}</dd>
      <dt>Updated</dt>
      <dd>${time(run.updatedAt)}</dd>
      <dt>Lease</dt>
      <dd>${run.ownerId ? html`${run.ownerId} until ${time(run.leaseExpiresAt)}` : '—'}</dd>
    </dl>
    ${ended ? '' : actionForm(ctx, 'workflow-cancel', { run: run.id, back }, 'Cancel run', { confirm: `Cancel run ${run.id}?`, danger: true })}
    ${
      run.suspension
        ? html`<h2>Suspension</h2>
            <pre data-testid="suspension">${json(redact(run.suspension, { kind: 'suspension', name: run.workflow }))}</pre>`
        : ''
    }
    ${
      run.lastError
        ? html`<h2>Last error</h2>
            <pre class="err">${shownError(redact, run.lastError, run.workflow)}</pre>`
        : ''
    }
    ${
      run.cancellationData
        ? html`<h2>Cancellation</h2>
            <pre>${json(redact(run.cancellationData, { kind: 'cancellation', name: run.workflow }))}</pre>`
        : ''
    }
    <h2>Params</h2>
    <pre>${json(redact(run.params, { kind: 'params', name: run.workflow }))}</pre>
    ${
      run.status === 'completed'
        ? html`<h2>Result</h2>
            <pre>${json(redact(run.result, { kind: 'result', name: run.workflow }))}</pre>`
        : ''
    }
    <h2>Checkpoints</h2>
    ${tableOf(
      ['#', 'Step', 'Completed', 'Value', ''],
      steps.map(
        (s) =>
          html`<tr>
            <td class="num">${s.position}</td>
            <td>${s.name}</td>
            <td>${time(s.completedAt)}</td>
            <td><pre>${json(redact(s.value, { kind: 'checkpoint', name: s.name }))}</pre></td>
            <td>${actionForm(ctx, 'workflow-rewind', { run: run.id, step: s.name, dryRun: 'true', back }, 'Rewind here (dry run)')}</td>
          </tr>`,
      ),
      'No checkpoint yet.',
      'checkpoints',
    )}`;
}
