import type { Duration } from '../beat/duration.js';
import type { RunState, StepCheckpoint, WorkflowCancellationPolicy } from './run-state.js';
import type { ListWorkflowRunsQuery } from './workflow-store.js';

/** Options of starting a run. */
export interface StartWorkflowOptions {
  /** Run id to use (a taken one throws `DuplicateWorkflowRunError`). @default a fresh UUIDv7 */
  readonly runId?: string;
  /** Makes the run a child of this run: its end wakes the parent's `waitForChild`. */
  readonly parentRunId?: string;
  /** Overrides the definition's cancellation policy. */
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
}

/** Options of {@link WorkflowClient.waitForCompletion}. */
export interface WaitForWorkflowOptions<T = unknown> {
  /** Give up after this long (on the runtime's clock). @default forever */
  readonly timeout?: Duration;
  /** Turns the stored result into `T` (e.g. a class instance). */
  readonly decode?: (value: unknown) => T;
}

/** What {@link WorkflowClient.waitForCompletion} resolves with. */
export interface WorkflowCompletion<T = unknown> {
  /** The result (decoded) when the run completed; `undefined` otherwise. */
  readonly value: T | undefined;
  /** The run as last seen. */
  readonly state: RunState;
  /** `true` when the timeout passed before the run ended. */
  readonly timedOut: boolean;
}

/**
 * Operating on workflow runs from anywhere (controllers, tasks, CLIs). `WorkflowRuntime`
 * implements it; the Nest layer's `StemClient.workflows` builds on it.
 */
export interface WorkflowClient {
  /** Creates a run of workflow `name` and enqueues its first run task; resolves with the run id. */
  start(name: string, params?: unknown, options?: StartWorkflowOptions): Promise<string>;
  /** Resumes every run waiting on `topic`, each exactly once; resolves with how many it resumed. */
  emit(topic: string, payload?: unknown): Promise<number>;
  /** Sends run-addressed signal `name`; kept with the run until a `waitForSignal(name)` takes it. */
  signal(runId: string, name: string, payload?: unknown): Promise<void>;
  /** Cancels a run (status `cancelled`, `cancellationData.reason`); `null` when it had ended already. */
  cancel(runId: string, reason?: string): Promise<RunState | null>;
  /** Clears `step` (all its occurrences) and every checkpoint after it, and resumes the run there. */
  rewind(runId: string, step: string): Promise<RunState>;
  /** The run, or `null`. */
  get(runId: string): Promise<RunState | null>;
  /** The run's checkpoints in order. */
  steps(runId: string): Promise<StepCheckpoint[]>;
  /** Runs matching the filter, newest first. */
  list(query?: ListWorkflowRunsQuery): Promise<RunState[]>;
  /** Waits until the run ends (or the timeout passes) without polling. */
  waitForCompletion<T = unknown>(runId: string, options?: WaitForWorkflowOptions<T>): Promise<WorkflowCompletion<T>>;
}
