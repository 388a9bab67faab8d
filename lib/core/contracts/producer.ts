import type { GroupStore } from '../canvas/group-store.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import type { TaskStatus } from '../envelope.js';
import type { StemTracing } from '../observability/stem-tracing.js';
import type { EnqueueOptions, TaskOptions } from '../task-options.js';
import type { TaskResult, WaitOptions } from '../task-result.js';
import type { ResultBackend } from './result-backend.js';

/** One call of {@link TaskProducer.enqueueMany}. */
export interface EnqueueCall {
  readonly name: string;
  readonly args?: unknown;
  readonly options?: EnqueueOptions;
  /** Options of a task this process has no handler for (typed definitions pass theirs). */
  readonly taskOptions?: TaskOptions;
}

/** What {@link TaskProducer.enqueueManySettled} reports for one call: its id, or why it was not enqueued. */
export type EnqueueOutcome = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly error: Error };

/**
 * What task definitions, canvas, Beat and the worker need from a producer: enqueue, wait and
 * decode. `Stem` implements it; depend on this interface instead of the class so a module that
 * only enqueues does not import the producer's implementation.
 *
 * @example
 * async function sendWelcome(producer: TaskProducer, to: string) {
 *   const id = await producer.enqueue('email.send', { to });
 *   return producer.waitForTask(id, { timeout: 5_000 });
 * }
 */
export interface TaskProducer {
  /** Encoder registry used for args written and results read. */
  readonly encoders: TaskPayloadEncoderRegistry;
  /** Where statuses are written and read, when the producer has one. */
  readonly backend?: ResultBackend;
  /** Group and chord state for canvas, when the producer has one. */
  readonly groupStore?: GroupStore;
  /** The producer's spans, when it traces (canvas opens its `group`/`chord` spans with it). */
  readonly tracing?: StemTracing;
  /**
   * Enqueues a task and resolves with its id once it is published.
   * @param taskOptions options of a task this process has no handler for (typed definitions pass theirs)
   */
  enqueue(name: string, args?: unknown, options?: EnqueueOptions, taskOptions?: TaskOptions): Promise<string>;
  /** Enqueues many tasks in one batch, all or none; resolves with their ids in call order. */
  enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]>;
  /**
   * Enqueues many tasks in one batch, each on its own: a call that cannot be enqueued (unknown
   * task, invalid args, rejected by a middleware) is reported in its place and the others are
   * published. Optional; canvas batches fall back to {@link enqueueMany} without it.
   */
  enqueueManySettled?(calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]>;
  /** Waits until a task reaches a terminal state or the timeout passes. */
  waitForTask<TResult = unknown>(id: string, options?: WaitOptions): Promise<TaskResult<TResult>>;
  /** The current status of a task (payload decoded), or `null`. */
  getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null>;
}
