import { StemError } from './stem.error.js';

/**
 * Ends a task `cancelled` (acked, never retried, not dead-lettered). Used as the abort reason of
 * `ctx.signal` when a running task is revoked with `terminate`; a task that stops because of it,
 * or is still running when the grace period ends, is recorded `cancelled` with `meta`.
 */
export class TaskCancelledError extends StemError {
  constructor(
    readonly taskId: string,
    message: string,
    /** Merged into the task's status meta. */
    readonly meta: Readonly<Record<string, unknown>> = {},
  ) {
    super('STEM_TASK_CANCELLED', message);
  }
}
