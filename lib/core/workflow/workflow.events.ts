import type { RunState, WorkflowRunError, WorkflowSuspension } from './run-state.js';

/** Events of a `WorkflowRuntime`, with one line each on when they fire. */
export interface WorkflowEvents {
  [event: string]: unknown[];
  /** A run was created and its first run task enqueued. */
  'run:started': [state: RunState];
  /** A run suspended (sleep, event, signal, child). */
  'run:suspended': [runId: string, suspension: WorkflowSuspension];
  /** A suspended run resumed in this process. */
  'run:resumed': [runId: string];
  /** A run completed. */
  'run:completed': [state: RunState];
  /** A run failed for good (a step ran out of retries, divergence, unknown workflow). */
  'run:failed': [state: RunState];
  /** A run was cancelled (by a call or a cancellation policy). */
  'run:cancelled': [state: RunState];
  /** A step completed and its checkpoint was saved. */
  'step:completed': [runId: string, checkpoint: string];
  /** A step threw and will be retried after `delayMs`. */
  'step:retrying': [runId: string, checkpoint: string, error: WorkflowRunError, delayMs: number];
  /** Something failed outside a run's own steps (store unreachable in the sweeper, ...). The runtime keeps going. */
  'workflow:error': [error: unknown];
}
