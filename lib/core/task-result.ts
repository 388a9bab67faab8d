import type { TaskStatus } from './envelope.js';

/** What `waitForTask` resolves with. */
export interface TaskResult<TResult = unknown> {
  readonly taskId: string;
  /** Last known status (`null` when the backend does not know the task). */
  readonly status: TaskStatus<TResult> | null;
  /** The result value when the task succeeded. */
  readonly value?: TResult;
  /** True when the timeout passed before the task reached a terminal state. */
  readonly timedOut: boolean;
}

/** Options of `waitForTask`. */
export interface WaitOptions {
  /** Give up after this many ms (resolves with `timedOut: true`). @default 30000 */
  readonly timeout?: number;
  /** Fallback poll interval in ms, used besides the backend's watch. @default 5000 (500 when the watch fails) */
  readonly pollInterval?: number;
  /** Stops waiting when aborted (resolves with `timedOut: true`). */
  readonly signal?: AbortSignal;
}
