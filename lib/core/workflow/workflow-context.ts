import type { Duration } from '../beat/duration.js';
import type { EnqueueOptions } from '../task-options.js';
import type { WorkflowCancellationPolicy } from './run-state.js';

/** Options of one step. */
export interface WorkflowStepOptions {
  /**
   * Times the step is retried after it throws (the steps before it are not re-run; a retry
   * replays the run up to this step from its checkpoints).
   * @default 0
   */
  readonly maxRetries?: number;
  /** Delay before each retry: a duration, or a function of the 0-based retry number. @default 1 s, doubled per retry, capped at 5 min */
  readonly retryDelay?: Duration | ((retry: number) => number);
  /**
   * Flow form only: the step may run again while it calls `ctx.repeat()`; each run is
   * checkpointed `name#0`, `name#1`, ... (script-form steps are always numbered by call).
   * @default false
   */
  readonly autoVersion?: boolean;
}

/** A wait with an optional timeout. */
export interface WorkflowWaitOptions {
  /** After this long the wait resolves `null`. @default forever */
  readonly timeout?: Duration;
}

/**
 * Names a workflow where a run is started: its name, or a class the runtime's
 * `resolveWorkflowName` maps to one (a `@Workflow()` class in the Nest layer).
 */
export type WorkflowReference = string | (abstract new (...args: never[]) => unknown);

/** Options of a child run. */
export interface StartChildOptions {
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
}

/**
 * What a running step sees: where it is in the run, and a stable idempotency key. In the script
 * form it is the argument of `ctx.step()` functions and what `stepContext()` returns inside a
 * `@Step` method; the flow form's {@link FlowContext} extends it.
 */
export interface StepContext<P = unknown> {
  readonly workflow: string;
  readonly runId: string;
  readonly params: P;
  /** The step's name (`charge`). */
  readonly step: string;
  /** The checkpoint it will be saved as (`charge#0`, or `collect` for an unnumbered flow step). */
  readonly checkpoint: string;
  /** Occurrence of the step: its `#i` (0 when unnumbered). */
  readonly iteration: number;
  /** 0-based attempt of this step (retries after a throw count up). */
  readonly attempt: number;
  /** Value of the checkpoint before this one (`undefined` for the first step). */
  readonly previousResult: unknown;
  /** Aborted when the run's execution must stop (lease lost, shutdown). */
  readonly signal: AbortSignal;
  /**
   * The same key on every attempt and replay of this step: `<workflow>/<runId>/<checkpoint>`, plus
   * `/<scope>` when given. Pass it to payment providers and the like.
   */
  idempotencyKey(scope?: string): string;
}

/**
 * The flow form's step context. A flow step suspends by calling `sleep` or `awaitEvent` and then
 * returning: its return value is discarded, the run suspends, and on resume the same step runs
 * again from its start with {@link FlowContext.takeResumeData} returning what woke it.
 */
export interface FlowContext<P = unknown> extends StepContext<P> {
  /** autoVersion steps: run this step again after this run (checkpoint `name#<iteration>` is saved with the return value). */
  repeat(): void;
  /**
   * Suspends the run for `duration` once the step returns; on resume `takeResumeData()` returns
   * `data` (default `true`). Replay-aware: called again by the resumed step it does nothing.
   */
  sleep(duration: Duration, options?: { readonly data?: unknown }): void;
  /** Suspends the run until an event on `topic` once the step returns; on resume `takeResumeData()` returns its payload (or `null` after `timeout`). */
  awaitEvent(topic: string, options?: WorkflowWaitOptions & { readonly data?: unknown }): void;
  /**
   * What woke this step (an event payload, the sleep's data, `null` for a timeout), once: a second
   * call returns `undefined`. `undefined` when the step did not resume from a suspension.
   */
  takeResumeData<T = unknown>(): T | undefined;
  /** Enqueues a task with `stem.workflow.*` meta (not deduplicated across replays of this step: use the idempotency key). */
  enqueue(task: string, args?: unknown, options?: EnqueueOptions): Promise<string>;
}

/**
 * The script form's run context: the argument of `WorkflowScript` `run` (and the second argument
 * of a `@Workflow` class's `run(params, ctx)`). The run function is replayed from the top after
 * every suspension or crash; every call below is checkpointed by name and occurrence, so on replay
 * it returns the recorded value instead of running again. Calls must be awaited one at a time.
 */
export interface WorkflowContext<P = unknown> {
  readonly workflow: string;
  readonly runId: string;
  readonly params: P;
  readonly parentRunId: string | null;
  /**
   * Runs `fn` once as step `name` (checkpoint `name#<occurrence>`) and returns its result; on
   * replay returns the checkpointed value without calling `fn`.
   */
  step<T>(name: string, fn: (step: StepContext<P>) => T | Promise<T>, options?: WorkflowStepOptions): Promise<T>;
  /** Suspends the run for `duration` (checkpoint `$sleep#i`); resolves once it passed. */
  sleep(duration: Duration): Promise<void>;
  /**
   * Waits for the next event on `topic` emitted after this call (checkpoint `$awaitEvent#i`) and
   * resolves with its payload, or `null` when `timeout` passes first. Events emitted before the
   * wait wake nobody.
   */
  awaitEvent<T = unknown>(topic: string, options?: WorkflowWaitOptions): Promise<T | null>;
  /**
   * Takes the oldest signal `name` sent to this run (even before the wait), exactly once
   * (checkpoint `$waitForSignal#i`), or waits for one; `null` when `timeout` passes first.
   */
  waitForSignal<T = unknown>(name: string, options?: WorkflowWaitOptions): Promise<T | null>;
  /**
   * Starts a child run of `workflow` (a name, or a class the runtime resolves to one) (checkpoint
   * `$startChild#i`) and resolves with its id; the child's end wakes this run.
   */
  startChild(workflow: WorkflowReference, params?: unknown, options?: StartChildOptions): Promise<string>;
  /**
   * Waits for a child run started by this run to end (checkpoint `$waitForChild#i`) and resolves
   * with its result, or `null` when `timeout` passes first. Throws `WorkflowChildFailedError` when
   * the child failed or was cancelled.
   */
  waitForChild<T = unknown>(childRunId: string, options?: WorkflowWaitOptions): Promise<T | null>;
  /** Enqueues a task once per run (checkpoint `$enqueue#i`) with `stem.workflow.*` meta; resolves with its id. */
  enqueue(task: string, args?: unknown, options?: EnqueueOptions): Promise<string>;
  /** `<workflow>/<runId>/<checkpoint>[/<scope>]` inside a step, `<workflow>/<runId>[/<scope>]` outside. */
  idempotencyKey(scope?: string): string;
}
