import type { TaskError } from '../envelope.js';
import type { TaskRun } from './task-executor.js';
import type { TaskOutcome } from './task-outcome.js';

/**
 * What `beforeRun` decides about an attempt. `undefined` or `{ action: 'run' }` admits it.
 * - `delay`: put the delivery back for `delayMs` without using an attempt (status `queued` with
 *   `meta`, signal `task-delayed`), like a rate-limit denial.
 * - `dead-letter`: do not run it; dead-letter it with `reason` and write `state` (default
 *   `failed`) with `error`. Extensions' `onSettled` sees the outcome.
 * - `cancel`: do not run it; ack it and write `cancelled` with `error` and `meta` (no dead
 *   letter, no retry), e.g. a revoked task. Extensions' `onSettled` sees the outcome.
 * - `fail`: do not run it; the attempt fails with `error` as if the handler had thrown it
 *   (retried per the task's policy, else dead-lettered), e.g. a middleware's `onConsume` threw.
 */
export type RunDecision =
  | { readonly action: 'run' }
  | { readonly action: 'delay'; readonly delayMs: number; readonly reason: string; readonly meta?: Readonly<Record<string, unknown>> }
  | { readonly action: 'dead-letter'; readonly reason: string; readonly error: TaskError; readonly state?: 'failed' | 'cancelled' }
  | { readonly action: 'cancel'; readonly error: TaskError; readonly meta?: Readonly<Record<string, unknown>> }
  | { readonly action: 'fail'; readonly error: unknown };

/**
 * A feature that plugs into every delivery a worker runs (canvas follow-ups, unique locks,
 * metrics, tracing, revocation, workflows). Every hook is optional; a worker calls only the
 * hooks its extensions have, so an absent hook costs nothing.
 *
 * Order: the worker's built-in extensions first (tracing, canvas, unique-lock release, `onTerminal`
 * hooks), then `WorkerOptions.extensions` in the order given. `beforeRun` and `onSettled` run one
 * after another in that order; `wrapRun` nests, the first extension outermost.
 *
 * @example
 * const timing: WorkerExtension = {
 *   name: 'timing',
 *   async wrapRun(run, next) {
 *     const started = performance.now();
 *     try { return await next(); } finally { log(run.envelope.name, performance.now() - started); }
 *   },
 * };
 * new Worker({ broker, backend, registry, extensions: [timing] });
 */
export interface WorkerExtension {
  /** Names the extension in error messages. */
  readonly name: string;
  /**
   * When set, a failure of this extension's `onSettled` for a `succeeded` outcome requeues the
   * delivery shortly instead of acking it (the extensions after it are skipped), so the task runs
   * again and its follow-ups are tried again: they must be idempotent. Each such failure counts
   * against the worker's `pipelineFailureBudget`; once it is used up the delivery is dead-lettered
   * `pipeline-error` and its `succeeded` status stays. For other outcomes, and for extensions
   * without it, a failure is only reported as `worker-error`.
   * @default false
   */
  readonly requeueOnFailure?: boolean;
  /**
   * Admission: called for each attempt after the built-in checks (signature, handler, expiry,
   * args, rate limit) passed and before status `running` is written. The first extension that
   * returns a decision other than `run` decides; the later ones are not asked. A throw is
   * handled like a store error: the delivery is requeued with backoff and tried again, counting
   * against the worker's `pipelineFailureBudget` (then a dead letter `pipeline-error`).
   */
  beforeRun?(run: TaskRun): RunDecision | undefined | void | Promise<RunDecision | undefined | void>;
  /**
   * Wraps running the handler through its executor (time limits apply inside `next`). Must call
   * `next()` once and return (or rethrow) what it settles with; a throw fails the attempt like a
   * handler error (retry policy, then dead letter).
   */
  wrapRun?(run: TaskRun, next: () => Promise<unknown>): Promise<unknown>;
  /**
   * Called after an outcome is recorded: for a terminal one after the dead letter (if any) and the
   * terminal status are written and before the ack; for a retry after it was scheduled. Not called
   * for deliveries that were not trusted (bad signature), nor for deliveries put back without an
   * outcome (rate limit, delay, shutdown, store errors). A failure is reported as `worker-error`
   * and never fails the task (see `requeueOnFailure`).
   */
  onSettled?(outcome: TaskOutcome): void | PromiseLike<unknown>;
  /**
   * Whether `onSettled` has work for this outcome that must be done before the ack (follow-ups
   * a redelivery would retry). When every extension with `onSettled` answers `false` for a
   * success, a broker that can (`StatusAck`) stores the status and acks in one step, and
   * `onSettled` is called right after the ack, where `requeueOnFailure` no longer applies (the
   * delivery is acked; a failure is only reported). An extension with `onSettled` and no
   * `followsUp` always has its `onSettled` run before the ack.
   */
  followsUp?(outcome: TaskOutcome): boolean;
}
