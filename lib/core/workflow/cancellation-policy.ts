import type { RunState, StoredCancellationPolicy, WorkflowCancellationPolicy } from './run-state.js';
import { toMillis } from './workflow-duration.js';

/** A policy in milliseconds, `null` when it sets no limit. */
export function normalizeCancellationPolicy(policy: WorkflowCancellationPolicy | undefined | null, where: string): StoredCancellationPolicy | null {
  if (!policy) return null;
  const out: { maxRunDuration?: number; maxSuspendDuration?: number } = {};
  if (policy.maxRunDuration !== undefined) out.maxRunDuration = toMillis(policy.maxRunDuration, `${where}: cancellationPolicy.maxRunDuration`);
  if (policy.maxSuspendDuration !== undefined) out.maxSuspendDuration = toMillis(policy.maxSuspendDuration, `${where}: cancellationPolicy.maxSuspendDuration`);
  return out.maxRunDuration === undefined && out.maxSuspendDuration === undefined ? null : out;
}

/**
 * When a suspension starting `now` must wake: the requested time (`null`: never), pulled in to
 * the end of `maxSuspendDuration` and of `maxRunDuration`, so the run wakes to be cancelled.
 */
export function clampResumeAt(run: RunState, now: number, requested: number | null): number | null {
  const policy = run.cancellationPolicy;
  let at = requested ?? Infinity;
  if (policy?.maxSuspendDuration !== undefined) at = Math.min(at, now + policy.maxSuspendDuration);
  if (policy?.maxRunDuration !== undefined) at = Math.min(at, run.createdAt + policy.maxRunDuration);
  return Number.isFinite(at) ? at : null;
}

/** The policy a run trips at `now`, with the reason to record; `undefined` when none. */
export function trippedPolicy(run: RunState, now: number): { policy: 'maxRunDuration' | 'maxSuspendDuration'; reason: string } | undefined {
  const policy = run.cancellationPolicy;
  if (!policy) return undefined;
  if (policy.maxRunDuration !== undefined && now >= run.createdAt + policy.maxRunDuration) {
    return { policy: 'maxRunDuration', reason: `maxRunDuration: the run took longer than ${policy.maxRunDuration} ms` };
  }
  const s = run.suspension;
  if (policy.maxSuspendDuration === undefined || !s || s.type === 'rewind' || s.type === 'retry' || run.resumeData) return undefined;
  // NOTE: `resumeAt` was clamped on the runtime's clock a moment before the store stamped
  // `suspendedAt`; waking at a clamped `resumeAt` is reaching the limit, not a timeout of the wait.
  const clamped = s.resumeAt !== null && (s.requestedResumeAt === null || s.requestedResumeAt > s.resumeAt) ? s.resumeAt : Infinity;
  const limit = Math.min(s.suspendedAt + policy.maxSuspendDuration, clamped);
  if (now >= limit && (s.requestedResumeAt === null || s.requestedResumeAt > limit)) {
    return { policy: 'maxSuspendDuration', reason: `maxSuspendDuration: step "${s.step}" stayed suspended longer than ${policy.maxSuspendDuration} ms` };
  }
  return undefined;
}
