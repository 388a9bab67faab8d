import type { Envelope } from './envelope.js';
import type { EnqueueOptions } from './task-options.js';
import type { TaskLogger } from './observability/task-logger.js';

/**
 * What a running task can see and do. Passed as the second argument of a `@Task()` method (or
 * the first of `TaskHandler.call`).
 */
export interface TaskContext {
  /** Task id, stable across retries. */
  readonly id: string;
  /** Task name. */
  readonly name: string;
  /** Queue the task came from. */
  readonly queue: string;
  /** 0-based attempt number. */
  readonly attempt: number;
  /** Retries allowed after the first attempt. */
  readonly maxRetries: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
  /** The delivered envelope. */
  readonly envelope: Envelope;
  /**
   * Aborts on the soft time limit, on a soft or hard shutdown, and when the hard time limit
   * fails the attempt. Pass it to `fetch`, database drivers, etc.
   */
  readonly signal: AbortSignal;
  /**
   * Log lines of this attempt, each carrying the task id, name, attempt and trace id (to the
   * worker's `taskLogSink`; in Nest, the Nest `Logger` with the task name as context).
   * @example ctx.logger.info('charged card', { amount: 42 })
   */
  readonly logger: TaskLogger;
  /** Records that the task is alive (persisted as `heartbeatAt`) and renews its lease. */
  heartbeat(): Promise<void>;
  /** Pushes this delivery's lease to now + `ms`. */
  extendLease(ms: number): Promise<void>;
  /** Persists progress (0–100 plus data) so other processes and the CLI can see it. */
  progress(percent: number, data?: unknown): Promise<void>;
  /**
   * Asks for another attempt; never returns. Past `maxRetries` the task fails and is
   * dead-lettered with `max-retries-exhausted`.
   * @param options.countdown ms before the retry @default the retry policy's backoff
   */
  retry(options?: { countdown?: number; reason?: string }): never;
  /**
   * A key that is the same for every attempt of this task, for idempotent side effects:
   * `<task>/<id>` or `<task>/<id>/<scope>`.
   */
  idempotencyKey(scope?: string): string;
  /**
   * Enqueues a child task. It inherits headers, and lineage meta `stem.parentTaskId`,
   * `stem.rootTaskId` and `stem.parentAttempt`.
   */
  enqueue(name: string, args?: unknown, options?: EnqueueOptions): Promise<string>;
}
