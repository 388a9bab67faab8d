import type { RunState, StepCheckpoint } from '../../core/workflow/run-state.js';
import { type CliContext, iso } from '../cli-context.js';
import { table } from '../table.js';

/** What a run waits for, in a few words (`event order.shipped`, `signal approve`, `sleep until ...`). */
export function waitingFor(run: RunState): string {
  const s = run.suspension;
  if (!s) return run.status === 'running' && run.ownerId ? `leased by ${run.ownerId}` : '-';
  if (s.type === 'event') return `event ${s.topic ?? run.waitTopic ?? '?'}${s.resumeAt !== null ? ` (until ${iso(s.resumeAt)})` : ''}`;
  if (s.type === 'signal') return `signal ${s.signal ?? '?'}${s.resumeAt !== null ? ` (until ${iso(s.resumeAt)})` : ''}`;
  if (s.type === 'sleep') return `sleep until ${iso(s.resumeAt)}`;
  return `rewound to ${s.iterationStep ?? s.step}`;
}

/** The `stem wf ls` table. */
export function runsTable(runs: readonly RunState[]): string[] {
  return table(
    ['RUN ID', 'WORKFLOW', 'STATUS', 'STEPS', 'CREATED', 'UPDATED', 'WAITING FOR'],
    runs.map((r) => [r.id, r.workflow, r.status, String(r.cursor), iso(r.createdAt), iso(r.updatedAt), waitingFor(r)]),
  );
}

/** Compact JSON for one table cell or line. */
export function brief(value: unknown, max = 120): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Prints `stem wf show`: the run's fields, then its checkpoints. */
export function printRun(ctx: CliContext, run: RunState, steps: readonly StepCheckpoint[]): void {
  const out = (label: string, value: string) => ctx.io.out(`${`${label}:`.padEnd(14)}${value}`);
  out('Run', run.id);
  out('Workflow', run.workflow);
  out('Status', run.status);
  out('Cursor', `${run.cursor} checkpoint(s)`);
  out('Params', brief(run.params, 400));
  if (run.parentRunId) out('Parent', run.parentRunId);
  out('Created', iso(run.createdAt));
  out('Updated', iso(run.updatedAt));
  out('Waiting for', waitingFor(run));
  if (run.suspension) out('Suspension', brief(run.suspension, 400));
  if (run.resumeData) out('Resume data', brief(run.resumeData, 400));
  out('Lease', run.ownerId ? `${run.ownerId} until ${iso(run.leaseExpiresAt)}` : '-');
  if (run.lastError)
    out('Last error', `${run.lastError.type}: ${run.lastError.message}${run.lastError.step ? ` (step ${run.lastError.step}, attempt ${run.lastError.attempt ?? 0})` : ''}`);
  if (run.cancellationData) out('Cancelled', `${iso(run.cancellationData.cancelledAt)}: ${run.cancellationData.reason}`);
  if (run.cancellationPolicy) out('Policy', brief(run.cancellationPolicy));
  if (run.status === 'completed') out('Result', brief(run.result, 400));
  ctx.io.out('');
  if (steps.length === 0) ctx.io.out('No checkpoints.');
  else
    for (const line of table(
      ['#', 'CHECKPOINT', 'COMPLETED', 'VALUE'],
      steps.map((s) => [String(s.position), s.name, iso(s.completedAt), brief(s.value)]),
    ))
      ctx.io.out(line);
}
