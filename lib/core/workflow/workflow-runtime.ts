import { bridgeWorkflowSignals, signalsOf } from '../signals/signal-bridges.js';
import { TaskRetryRequest } from '../errors/task-retry-request.error.js';
import type { TaskContext } from '../task-context.js';
import type { TaskHandler } from '../task-handler.js';
import type { EnqueueOptions, TaskOptions } from '../task-options.js';
import { type Clock, systemClock } from '../utils/clock.js';
import { TypedEmitter } from '../utils/typed-emitter.js';
import type { WorkerExtension } from '../worker/worker-extension.js';
import { normalizeCancellationPolicy } from './cancellation-policy.js';
import { waitForRunCompletion } from './completion-waiter.js';
import { DueRunSweeper } from './due-run-sweeper.js';
import { DuplicateWorkflowError } from './errors/duplicate-workflow.error.js';
import { UnknownWorkflowError } from './errors/unknown-workflow.error.js';
import { WorkflowRunEndedError } from './errors/workflow-run-ended.error.js';
import { WorkflowRunNotFoundError } from './errors/workflow-run-not-found.error.js';
import { isTerminalWorkflowStatus, type RunState, type StepCheckpoint } from './run-state.js';
import { abortOf, type RunAbort } from './run-execution.js';
import { advanceRun, finish, type RunExecutorHost, type RunTaskReason } from './run-executor.js';
import { RunLeaseExtension } from './run-lease.extension.js';
import { RunTaskEnqueuer } from './run-task-enqueuer.js';
import type { StartWorkflowOptions, WaitForWorkflowOptions, WorkflowClient, WorkflowCompletion } from './workflow-client.js';
import type { WorkflowReference } from './workflow-context.js';
import type { WorkflowDefinition } from './workflow-definition.js';
import { toMillis } from './workflow-duration.js';
import type { WorkflowEvents } from './workflow.events.js';
import type { WorkflowRuntimeOptions } from './workflow-runtime.options.js';
import { DEFAULT_RUN_LEASE_DURATION, DEFAULT_WORKFLOW_QUEUE, WORKFLOW_RUN_TASK, WorkflowMeta } from './workflow.constants.js';
import type { ListWorkflowRunsQuery, WorkflowStore } from './workflow-store.js';

const RESOLVE_BATCH = 256;

/**
 * Runs durable workflows on the normal task machinery: each run advances as the task
 * `stem.workflow.run` (args `{ runId }`) on its own queue, executed by a `Worker` that has
 * {@link WorkflowRuntime.taskHandler} in its registry and {@link WorkflowRuntime.workerExtension}
 * in its extensions. Everything about a run lives in the {@link WorkflowStore}, so any process
 * sharing the store and broker can start, resume or inspect any run.
 *
 * @example
 * const runtime = new WorkflowRuntime({ store: new InMemoryWorkflowStore(), producer: stem });
 * runtime.register(new WorkflowScript({ name: 'hello', run: async (ctx) => ctx.step('greet', () => 'hi') }));
 * const worker = new Worker({ broker, registry: new SimpleTaskRegistry([runtime.taskHandler]), extensions: [runtime.workerExtension], queues: [runtime.queue] });
 * await worker.start();
 * runtime.startSweeper();
 * const runId = await runtime.start('hello');
 * const { value } = await runtime.waitForCompletion(runId, { timeout: '5s' });
 */
export class WorkflowRuntime implements WorkflowClient {
  /** Typed run and step events. */
  readonly events = new TypedEmitter<WorkflowEvents>();
  /** Where the runs, checkpoints, watchers and signals are kept. */
  readonly store: WorkflowStore;
  /** Queue of the run tasks. */
  readonly queue: string;
  /** Run lease in ms. */
  readonly runLeaseDuration: number;
  /** The `stem.workflow.run` task: put it in the registry of the workers that run workflows. */
  readonly taskHandler: TaskHandler<{ runId: string }, void>;
  /** Claims, renews and releases run leases around run tasks: put it in those workers' `extensions`. */
  readonly workerExtension: WorkerExtension;
  private readonly clock: Clock;
  private readonly definitionsByName = new Map<string, WorkflowDefinition>();
  private readonly leases: RunLeaseExtension;
  private readonly sweeper: DueRunSweeper;
  private readonly host: RunExecutorHost;
  private readonly taskOptions: TaskOptions;
  private readonly runTasks: RunTaskEnqueuer;

  constructor(private readonly options: WorkflowRuntimeOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    const signals = options.signals ?? signalsOf(options.producer);
    if (signals) bridgeWorkflowSignals(this.events, signals);
    this.queue = options.queue ?? DEFAULT_WORKFLOW_QUEUE;
    this.runLeaseDuration = options.runLeaseDuration === undefined ? DEFAULT_RUN_LEASE_DURATION : toMillis(options.runLeaseDuration, 'workflows.runLeaseDuration');
    const sweepInterval = options.sweepInterval === undefined ? 1_000 : toMillis(options.sweepInterval, 'workflows.sweepInterval');
    this.runTasks = new RunTaskEnqueuer(options.producer);
    this.taskOptions = { queue: this.queue, maxRetries: options.runTaskMaxRetries ?? 10, visibilityTimeout: this.runLeaseDuration, ignoreResult: true };
    this.leases = new RunLeaseExtension(this.store, this.clock, this.runLeaseDuration, options.ownerId ?? `wf-${Math.random().toString(36).slice(2, 10)}`, (runId) =>
      this.resumeIfDue(runId),
    );
    this.workerExtension = this.leases;
    this.taskHandler = { name: WORKFLOW_RUN_TASK, options: this.taskOptions, source: 'WorkflowRuntime', call: (ctx, args) => this.runTask(ctx, args) };
    this.host = {
      store: this.store,
      clock: this.clock,
      producer: options.producer,
      events: this.events,
      ...(options.producer.tracing ? { tracing: options.producer.tracing } : {}),
      definition: (name) => this.definitionsByName.get(name),
      knownWorkflows: () => [...this.definitionsByName.keys()],
      enqueueRun: (runId, reason, delayMs) => this.enqueueRun(runId, reason, delayMs),
      startRun: (workflow, params, startOptions) => this.start(this.nameOf(workflow), params, startOptions),
    };
    this.sweeper = new DueRunSweeper(
      this.store,
      this.clock,
      sweepInterval,
      Math.max(1_000, sweepInterval),
      options.sweepBatch ?? 256,
      (runId) => this.enqueueRun(runId, 'sweep'),
      (error) => this.events.emit('workflow:error', error),
      options.orphanSweepAfter === undefined ? 4 * this.runLeaseDuration : toMillis(options.orphanSweepAfter, 'workflows.orphanSweepAfter'),
    );
    for (const definition of options.definitions ?? []) this.register(definition);
  }

  /** Adds a definition; a second one with the same name throws `DuplicateWorkflowError` naming both sources. */
  register(definition: WorkflowDefinition): this {
    const existing = this.definitionsByName.get(definition.name);
    if (existing) throw new DuplicateWorkflowError(definition.name, existing.source, definition.source);
    normalizeCancellationPolicy(definition.cancellationPolicy, `workflow "${definition.name}"`);
    this.definitionsByName.set(definition.name, definition);
    return this;
  }

  /** The registered definitions. */
  definitions(): readonly WorkflowDefinition[] {
    return [...this.definitionsByName.values()];
  }

  /** Starts the due-run sweep (the safety net behind delayed run tasks). Idempotent. */
  startSweeper(): void {
    this.sweeper.start();
  }

  /** Enqueues the run tasks of runs that are overdue now; resolves with how many. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  /** Stops the sweeper. Runs in progress belong to their workers, which drain them on close. */
  async close(): Promise<void> {
    await this.sweeper.stop();
  }

  async start(name: string, params: unknown = {}, options: StartWorkflowOptions = {}): Promise<string> {
    const run = await this.createRunFor(name, params, options);
    this.events.emit('run:started', run);
    await this.enqueueRun(run.id, 'start');
    return run.id;
  }

  /**
   * Starts many runs and enqueues their first run tasks in one batch (one broker round trip where
   * the broker batches); resolves with their ids in call order. A call that fails to create its
   * run rejects the whole batch before anything is enqueued; runs created by then stay and are
   * picked up by no one until started again with `rewind` or the sweeper.
   */
  async startMany(calls: readonly { readonly name: string; readonly params?: unknown; readonly options?: StartWorkflowOptions }[]): Promise<string[]> {
    const runs = await Promise.all(calls.map((call) => this.createRunFor(call.name, call.params ?? {}, call.options ?? {})));
    for (const run of runs) this.events.emit('run:started', run);
    await this.options.producer.enqueueMany(
      runs.map((run) => ({ name: WORKFLOW_RUN_TASK, args: { runId: run.id }, options: this.runTaskEnqueueOptions(run.id, 'start'), taskOptions: this.taskOptions })),
    );
    return runs.map((run) => run.id);
  }

  async emit(topic: string, payload: unknown = null): Promise<number> {
    let resumed = 0;
    for (;;) {
      const batch = await this.store.resolveWatchers(topic, payload, { limit: RESOLVE_BATCH });
      resumed += batch.length;
      // NOTE: the payload is already stored with each run; a failed enqueue leaves the run due,
      // and the sweeper enqueues it.
      await Promise.allSettled(batch.map((w) => this.enqueueRun(w.runId, 'event'))).then((results) => {
        for (const r of results) if (r.status === 'rejected') this.events.emit('workflow:error', r.reason);
      });
      if (batch.length < RESOLVE_BATCH) return resumed;
    }
  }

  async signal(runId: string, name: string, payload: unknown = null): Promise<void> {
    const result = await this.store.sendSignal(runId, name, payload);
    if (!result.stored) {
      const state = await this.store.get(runId);
      throw new WorkflowRunEndedError(runId, state?.status ?? 'cancelled', `signal "${name}" to`);
    }
    if (result.woke) await this.enqueueRun(runId, 'signal');
  }

  async cancel(runId: string, reason = 'cancelled'): Promise<RunState | null> {
    const before = await this.store.get(runId);
    if (!before) throw new WorkflowRunNotFoundError(runId);
    const ended = await this.store.cancel(runId, { reason });
    return ended ? finish(this.host, before, ended) : null;
  }

  async rewind(runId: string, step: string): Promise<RunState> {
    const state = await this.store.rewindToStep(runId, step);
    await this.enqueueRun(runId, 'rewind');
    return state;
  }

  get(runId: string): Promise<RunState | null> {
    return this.store.get(runId);
  }

  steps(runId: string): Promise<StepCheckpoint[]> {
    return this.store.listSteps(runId);
  }

  list(query?: ListWorkflowRunsQuery): Promise<RunState[]> {
    return this.store.listRuns(query);
  }

  waitForCompletion<T = unknown>(runId: string, options?: WaitForWorkflowOptions<T>): Promise<WorkflowCompletion<T>> {
    return waitForRunCompletion<T>(this.store, this.clock, runId, options);
  }

  /**
   * Advances a run once in this process, outside any worker: claims its lease (resolves with the
   * run unchanged when another owner holds it), executes, releases. For tests and custom drivers.
   */
  async executeRun(runId: string): Promise<RunState | null> {
    const ownerId = this.leases.newOwner();
    if (!(await this.leases.claim(runId, ownerId))) return this.store.get(runId);
    const controller = new AbortController();
    const stop = this.leases.keepAlive({ runId, ownerId }, (error) => controller.abort(error));
    try {
      return await advanceRun(this.host, runId, ownerId, abortOf(controller.signal));
    } finally {
      stop();
      await this.leases.release({ runId, ownerId });
    }
  }

  /** The run task: advance the run under the lease `workerExtension` took (or take it here). */
  private async runTask(ctx: TaskContext, args: { runId: string }): Promise<void> {
    const runId = args?.runId;
    if (typeof runId !== 'string') throw new TypeError(`${WORKFLOW_RUN_TASK} needs args { runId: string }, got ${JSON.stringify(args)}`);
    const lease = this.leases.leaseOf(ctx);
    if (lease) {
      // NOTE: the attempt's own abort state, so that a run that is never aborted never creates ctx.signal.
      const abort = lease.attempt ?? abortOf(ctx.signal);
      const state = await advanceRun(this.host, runId, lease.ownerId, abort, lease.loaded);
      lease.ended = !state || isTerminalWorkflowStatus(state.status);
      this.throwIfStopped(abort);
      return;
    }
    // NOTE: a worker without the extension: claim here, and retry later while another owner holds the run.
    const ownerId = this.leases.newOwner();
    if (!(await this.leases.claim(runId, ownerId))) {
      const state = await this.store.get(runId);
      if (!state) return;
      throw new TaskRetryRequest(Math.max(50, (state.leaseExpiresAt ?? this.clock.now()) - this.clock.now()), `workflow run ${runId} is leased by another executor`);
    }
    const stop = this.leases.keepAlive({ runId, ownerId }, () => undefined);
    try {
      const abort = abortOf(ctx.signal);
      await advanceRun(this.host, runId, ownerId, abort);
      this.throwIfStopped(abort);
    } finally {
      stop();
      await this.leases.release({ runId, ownerId });
    }
  }

  /**
   * A run that stopped between steps because its task was aborted (shutdown, lost lease) still
   * has work left: failing the task puts it back (a shutdown requeues it) instead of acking it.
   */
  private throwIfStopped(abort: RunAbort): void {
    if (!abort.aborted) return;
    const reason: unknown = abort.signal.reason;
    throw reason instanceof Error ? reason : new Error(String(reason));
  }

  /** The name of a workflow given by name or by a class `resolveWorkflowName` knows. */
  private nameOf(workflow: WorkflowReference): string {
    if (typeof workflow === 'string') return workflow;
    const name = this.options.resolveWorkflowName?.(workflow);
    if (!name)
      throw new TypeError(
        `${workflow.name || 'The class'} does not name a workflow; pass the workflow's name to ctx.startChild(), or a class the runtime's resolveWorkflowName maps to one`,
      );
    return name;
  }

  /** Enqueues a run task when the run is suspended and due now. */
  private async resumeIfDue(runId: string): Promise<void> {
    const state = await this.store.get(runId);
    if (state?.status === 'suspended' && state.resumeAt !== null && state.resumeAt <= this.clock.now()) await this.enqueueRun(runId, 'due');
  }

  private async createRunFor(name: string, params: unknown, options: StartWorkflowOptions): Promise<RunState> {
    const definition = this.definitionsByName.get(name);
    if (!definition) throw new UnknownWorkflowError(name, [...this.definitionsByName.keys()]);
    const cancellationPolicy = normalizeCancellationPolicy(options.cancellationPolicy ?? definition.cancellationPolicy, `workflow "${name}"`);
    return this.store.createRun({
      workflow: name,
      params,
      ...(options.runId !== undefined ? { runId: options.runId } : {}),
      parentRunId: options.parentRunId ?? null,
      cancellationPolicy,
      metadata: { queue: this.queue },
    });
  }

  private runTaskEnqueueOptions(runId: string, reason: RunTaskReason, delayMs?: number): EnqueueOptions {
    return { queue: this.queue, ...(delayMs ? { delay: delayMs } : {}), meta: { [WorkflowMeta.runId]: runId, [WorkflowMeta.reason]: reason } };
  }

  private enqueueRun(runId: string, reason: RunTaskReason, delayMs?: number): Promise<void> {
    return this.runTasks.enqueue({ name: WORKFLOW_RUN_TASK, args: { runId }, options: this.runTaskEnqueueOptions(runId, reason, delayMs), taskOptions: this.taskOptions });
  }
}
