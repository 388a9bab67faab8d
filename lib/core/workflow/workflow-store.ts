import type {
  RunState,
  StepCheckpoint,
  StoredCancellationPolicy,
  WatcherResolution,
  WorkflowCancellationData,
  WorkflowRunError,
  WorkflowSignal,
  WorkflowStatus,
  WorkflowWatcher,
} from './run-state.js';

/** Input of {@link WorkflowStore.createRun}. */
export interface CreateWorkflowRun {
  readonly workflow: string;
  readonly params: unknown;
  /** Run id to use; a taken one throws `DuplicateWorkflowRunError`. @default a fresh UUIDv7 */
  readonly runId?: string;
  /** Parent run of a child workflow. */
  readonly parentRunId?: string | null;
  readonly cancellationPolicy?: StoredCancellationPolicy | null;
  /** Orchestration data of the runtime (JSON). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Filter of {@link WorkflowStore.listRuns}. */
export interface ListWorkflowRunsQuery {
  readonly workflow?: string;
  readonly status?: WorkflowStatus;
  /** Only the children of this run. */
  readonly parentRunId?: string;
  /** @default 50 */
  readonly limit?: number;
  /** @default 0 */
  readonly offset?: number;
}

/** The payload of the `$child:<childRunId>` signal a child run's end sends its parent. */
export interface ChildRunOutcome {
  readonly runId: string;
  readonly workflow: string;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly result?: unknown;
  readonly error?: WorkflowRunError | null;
  readonly cancellationData?: WorkflowCancellationData | null;
}

/** The outcome a child that ended sends its parent (the `$child:<id>` signal), from the child's run state. */
export function childRunOutcome(child: Pick<RunState, 'id' | 'workflow' | 'result' | 'lastError' | 'cancellationData'>, status: ChildRunOutcome['status']): ChildRunOutcome {
  return {
    runId: child.id,
    workflow: child.workflow,
    status,
    ...(status === 'completed' ? { result: child.result } : {}),
    ...(status === 'failed' ? { error: child.lastError } : {}),
    ...(status === 'cancelled' ? { cancellationData: child.cancellationData } : {}),
  };
}

/** A run and its checkpoints as {@link WorkflowStore.claimAndLoad} found them under the lease it took. */
export interface LoadedRun {
  /** `null` when the store still holds the run but it is past its retention (`get` returns `null`). */
  readonly run: RunState | null;
  readonly steps: readonly StepCheckpoint[];
}

/** What a store change looks like to {@link WorkflowStore.watch} listeners. */
export type RunChangeListener = (state: RunState) => void;

/**
 * Durable state of workflow runs: the run record, step checkpoints, suspensions with durable
 * event watchers, run-addressed signals, and run leases. The runtime keeps no run state of its
 * own, so any process sharing the store can advance any run.
 *
 * Rules every adapter keeps (checked by `runWorkflowStoreContractTests`):
 * - Every method is async and every stored value is JSON (a checkpoint value may also be
 *   `undefined`, kept as such). Callers never rely on object identity: reads return copies.
 * - Time comes from the store's clock (or the `now` argument), never from the caller's objects.
 * - A run's checkpoints keep their order; `cursor` is their count.
 * - Operations that must not happen twice are atomic per run: resolving a watcher, taking a
 *   signal, claiming a lease, resuming a suspension. A watcher resolves exactly once and its
 *   payload is persisted (as `resumeData`) before the call returns.
 * - Writes on behalf of an executor carry its lease `ownerId`; when given, the write is refused
 *   (`false`) if another owner holds the lease or the run ended.
 * - Ending a run (`markCompleted`, terminal `markFailed`, `cancel`) clears its lease, watchers
 *   and suspension, and is reported to `watch` listeners.
 */
export interface WorkflowStore {
  // ── runs ──────────────────────────────────────────────────────────────────
  /** Creates a run (`running`, cursor 0). A taken `runId` throws `DuplicateWorkflowRunError`; the existing run is left intact. */
  createRun(input: CreateWorkflowRun): Promise<RunState>;
  /** The run, or `null`. */
  get(runId: string): Promise<RunState | null>;
  /** Runs matching the filter, newest first. */
  listRuns(query?: ListWorkflowRunsQuery): Promise<RunState[]>;
  /** `running` runs whose lease is free or expired at `now`, oldest update first (recovery sweeps). */
  listRunnableRuns(query: { readonly now: number; readonly limit?: number; readonly offset?: number }): Promise<RunState[]>;

  // ── checkpoints ───────────────────────────────────────────────────────────
  /** The checkpoint named `name` (`charge#0`), or `null`. */
  readStep(runId: string, name: string): Promise<StepCheckpoint | null>;
  /**
   * Appends (or overwrites) checkpoint `name` with `value` (and `meta`), refreshes `updatedAt` and sets
   * `cursor`. Clears `resumeData` and `lastError` when they belong to that step. `false` (nothing
   * written) when the run does not exist, ended, or `ownerId` is given and does not hold the lease.
   */
  saveStep(runId: string, name: string, value: unknown, options?: { readonly ownerId?: string; readonly meta?: Readonly<Record<string, unknown>> }): Promise<boolean>;
  /** The run's checkpoints in order. */
  listSteps(runId: string): Promise<StepCheckpoint[]>;
  /**
   * Deletes the first checkpoint of `step` (its plain name or any `step#i`) and everything after
   * it, sets `cursor` to what is left, clears result, error, resume data, watchers and lease, and
   * marks the run `suspended` with a `rewind` suspension (`step`, `iteration: 0`,
   * `iterationStep`: the first deleted checkpoint), due at once. An ended run may be rewound too
   * (its cancellation data is cleared). Throws `WorkflowRunNotFoundError`, or
   * `WorkflowStepNotFoundError` when no checkpoint of `step` exists.
   */
  rewindToStep(runId: string, step: string): Promise<RunState>;

  // ── suspension ────────────────────────────────────────────────────────────
  /**
   * Suspends the run until `resumeAt`: a sleep (`type` `sleep`, the default) or the delay before a
   * step's retry (`retry`). `false` when `ownerId` does not hold the lease or the run ended.
   */
  suspendUntil(
    runId: string,
    step: string,
    resumeAt: number,
    options?: {
      readonly type?: 'sleep' | 'retry';
      readonly data?: unknown;
      readonly iteration?: number;
      readonly requestedResumeAt?: number | null;
      readonly ownerId?: string;
    },
  ): Promise<boolean>;
  /**
   * Suspends the run on `topic` and registers a durable watcher; `deadline` (epoch ms) makes the
   * run due when no event came first. `false` as for `suspendUntil`.
   */
  suspendOnTopic(
    runId: string,
    step: string,
    topic: string,
    options?: { readonly deadline?: number | null; readonly requestedDeadline?: number | null; readonly data?: unknown; readonly iteration?: number; readonly ownerId?: string },
  ): Promise<boolean>;
  /**
   * Suspends the run until signal `name` arrives (or `deadline`). Atomic with pending signals:
   * returns `false` without suspending when a signal of that name is already waiting (take it
   * with `takeSignal`) or, as for `suspendUntil`, when the lease or run is gone.
   */
  suspendOnSignal(
    runId: string,
    step: string,
    name: string,
    options?: { readonly deadline?: number | null; readonly requestedDeadline?: number | null; readonly data?: unknown; readonly iteration?: number; readonly ownerId?: string },
  ): Promise<boolean>;
  /**
   * Resolves up to `limit` (default 256) watchers of `topic`, each exactly once: removes it, stores
   * `{ step, type: 'event', topic, payload }` as the run's `resumeData` and makes the run due now.
   * A watcher whose run no longer waits on that topic is dropped unresolved.
   */
  resolveWatchers(topic: string, payload: unknown, options?: { readonly limit?: number }): Promise<WatcherResolution[]>;
  /** Registered watchers, of one topic or all, oldest first. */
  listWatchers(topic?: string, options?: { readonly limit?: number }): Promise<WorkflowWatcher[]>;
  /** Ids of the runs suspended on `topic`. */
  runsWaitingOn(topic: string): Promise<string[]>;
  /**
   * Ids of suspended runs due at `now` (`resumeAt <= now`), at most `limit` (default 256). Each
   * is handed out once: its `resumeAt` moves to `now + claimFor` (default 30 s), so a sweeper
   * that crashed before resuming it gets it back later, and concurrent sweepers never share one.
   */
  dueRuns(now: number, options?: { readonly limit?: number; readonly claimFor?: number }): Promise<string[]>;
  /**
   * Resumes a suspended run that may resume at `now` (its `resumeAt` passed, or a watcher or signal
   * made it due): `running`, suspension, wait topic, watchers and `resumeAt` cleared. A time-based
   * wake-up of a wait stores `resumeData` `{ type: 'timeout', payload: null }` (of a sleep:
   * `{ type: 'sleep', payload: data ?? true }`; of a retry or rewind: none) unless an event or signal is already there; `data`
   * overrides it. Returns the run, or `null` when it is not suspended or not yet due (another
   * caller resumed it, or it is early).
   */
  markResumed(runId: string, options?: { readonly now?: number; readonly data?: unknown }): Promise<RunState | null>;

  // ── signals ───────────────────────────────────────────────────────────────
  /**
   * Stores signal `name` with the run (in arrival order), whether or not it waits. When the run is
   * suspended waiting for that signal it is made due now and `woke` is `true`. Throws
   * `WorkflowRunNotFoundError`; a run that ended keeps nothing (`stored: false`).
   */
  sendSignal(runId: string, name: string, payload: unknown): Promise<{ readonly stored: boolean; readonly woke: boolean }>;
  /**
   * Atomically takes the oldest waiting signal `name` and saves its payload as checkpoint `step`,
   * so it is consumed exactly once. `null` when none waits (or the lease is not `ownerId`'s).
   */
  takeSignal(runId: string, name: string, step: string, options?: { readonly ownerId?: string }): Promise<{ readonly payload: unknown } | null>;
  /** Signals still waiting to be consumed, in arrival order. */
  listSignals(runId: string): Promise<WorkflowSignal[]>;

  // ── transitions ───────────────────────────────────────────────────────────
  /** Ends the run `completed` with `result`; suspension data emptied. `null` when ended already (or the lease is not `ownerId`'s). */
  markCompleted(runId: string, result: unknown, options?: { readonly ownerId?: string }): Promise<RunState | null>;
  /**
   * Records `error` as `lastError`. Non-terminal: the run stays `running` (it will be retried).
   * Terminal: the run ends `failed`. `null` when it ended already.
   */
  markFailed(runId: string, error: WorkflowRunError, options: { readonly terminal: boolean; readonly ownerId?: string }): Promise<RunState | null>;
  /** Ends the run `cancelled` with `data`. `null` when it ended already (its state is kept). */
  cancel(runId: string, data: Omit<WorkflowCancellationData, 'cancelledAt'> & { readonly cancelledAt?: number }): Promise<RunState | null>;

  // ── leases ────────────────────────────────────────────────────────────────
  /** Takes the run lease for `ownerId` for `leaseDuration` ms; `false` while another owner's lease is live. */
  claimRun(runId: string, ownerId: string, leaseDuration: number): Promise<boolean>;
  /**
   * Optional: {@link claimRun} that also returns the run and its checkpoints (as `listSteps`) as
   * they are under the new lease, in one request; `null` when the lease was not taken. Executors
   * use it instead of a claim, a read and a checkpoint listing when the store has it.
   */
  claimAndLoad?(runId: string, ownerId: string, leaseDuration: number): Promise<LoadedRun | null>;
  /** Extends `ownerId`'s live lease; `false` for another owner or an expired lease. */
  renewRunLease(runId: string, ownerId: string, leaseDuration: number): Promise<boolean>;
  /** Releases `ownerId`'s lease; `false` when it did not hold it. */
  releaseRun(runId: string, ownerId: string): Promise<boolean>;

  // ── notifications ─────────────────────────────────────────────────────────
  /**
   * Calls `listener` with the run after its status changed (at least: after it ended; a shared
   * store reports what this instance can observe, the end of a run at the very least; a checkpoint
   * alone, which leaves the status as it is, need not be reported). Returns the unsubscribe
   * function. Lets `waitForCompletion` wait without polling.
   */
  watch(runId: string, listener: RunChangeListener): () => void;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}

/** A {@link WorkflowRunError} from anything thrown. */
export function toWorkflowRunError(error: unknown, at: number, step?: string, attempt?: number): WorkflowRunError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return {
    type: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(typeof code === 'string' ? { code } : {}),
    ...(step !== undefined ? { step } : {}),
    ...(attempt !== undefined ? { attempt } : {}),
    at,
  };
}
