import type { Delivery } from '../contracts/broker.js';
import type { Envelope } from '../envelope.js';
import type { TaskContext } from '../task-context.js';
import type { TaskHandler } from '../task-handler.js';
import type { RetryPolicy } from '../task-options.js';

/** Name of the executor a task runs in unless its `runIn` option names another. */
export const INLINE_EXECUTOR = 'inline';

declare module '../task-options.js' {
  interface TaskOptions {
    /**
     * Executor that runs the task: a key of the worker's `executors`. A worker without that
     * executor refuses to start (and dead-letters such a task registered later as `unknown-executor`).
     * @default 'inline'
     */
    readonly runIn?: string;
  }
}

/**
 * One attempt of a task, after the worker admitted it: what extensions (`beforeRun`, `wrapRun`)
 * see and what an executor runs. Built once per attempt.
 */
export interface TaskRun {
  readonly envelope: Envelope;
  readonly delivery: Delivery;
  readonly handler: TaskHandler;
  /** The arguments the handler is called with: decoded, and validated when the worker has a validator. */
  readonly args: unknown;
  /** The handler's `ctx`. */
  readonly context: TaskContext;
  /** Retries allowed (per call > `@Task` > defaults). */
  readonly maxRetries: number;
  /** Retry policy, merged field by field (per call > `@Task` > defaults), if any. */
  readonly retryPolicy: RetryPolicy | undefined;
  /** Soft time limit in ms (per call > `@Task` > defaults), if any. */
  readonly softTimeLimit: number | undefined;
  /** Hard time limit in ms (per call > `@Task` > defaults), if any. */
  readonly hardTimeLimit: number | undefined;
  /**
   * Meta merged into the status this attempt ends with (`succeeded`, `retried`, `failed` or
   * `cancelled`), over the meta already stored: e.g. a timing a middleware measured.
   */
  readonly statusMeta: Record<string, unknown>;
  /** The handler's `ctx.signal`: aborted on soft or hard timeout, shutdown or a lost lease. */
  readonly signal: AbortSignal;
  /** Whether `ctx.signal` was aborted; reading this does not create the signal. */
  readonly aborted: boolean;
  /** Aborts `ctx.signal` with `reason`; the first abort wins. */
  abort(reason: unknown): void;
  /** The soft time limit passed: emits `task-soft-timeout` and aborts `ctx.signal`. */
  softTimeout(): void;
}

/**
 * Runs a task's handler somewhere: in this thread ({@link InlineExecutor}), a worker thread, a
 * child process. A task picks its executor with its `runIn` option; the worker passes the
 * executor each admitted attempt and settles whatever it resolves or rejects with.
 *
 * An executor enforces the time limits of the run: on `softTimeLimit` it calls
 * `run.softTimeout()`; on `hardTimeLimit` it stops the handler as far as it can (a thread is
 * terminated; inline code cannot be) and rejects with a `TimeLimitExceededError`, which frees
 * the slot. Its concurrency is the worker's: it is never given more runs than the worker's
 * `concurrency` at once.
 */
export interface TaskExecutor {
  /** Runs one attempt; resolves with the handler's result, rejects with its error. */
  run(run: TaskRun): Promise<unknown>;
  /** Counters of what the executor holds (a pool's size, busy threads, ...), reported in `worker.stats().executors`. */
  stats?(): unknown;
  /**
   * Stops the running task `taskId` now (a revoke with terminate), failing its attempt with
   * `error`; returns whether it ran here. Only executors that can stop code (threads) have it.
   */
  terminate?(taskId: string, error?: Error): boolean;
  /** The worker's concurrency changed (autoscaling); an executor with its own pool follows it. */
  resize?(concurrency: number): void;
  /** Frees what the executor holds (threads, processes). Called by `Worker.close()` once running tasks drained. */
  close?(): Promise<void>;
}
