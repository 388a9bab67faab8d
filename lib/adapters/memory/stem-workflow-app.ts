import type { Broker } from '../../core/contracts/broker.js';
import type { ResultBackend } from '../../core/contracts/result-backend.js';
import { Stem } from '../../core/stem.js';
import { SimpleTaskRegistry } from '../../core/task-registry.js';
import type { TaskHandler } from '../../core/task-handler.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { Worker } from '../../core/worker/worker.js';
import type { Duration } from '../../core/beat/duration.js';
import type { Flow } from '../../core/workflow/flow.js';
import type { RunState, StepCheckpoint } from '../../core/workflow/run-state.js';
import type { StartWorkflowOptions, WaitForWorkflowOptions, WorkflowCompletion } from '../../core/workflow/workflow-client.js';
import { WorkflowRuntime } from '../../core/workflow/workflow-runtime.js';
import type { WorkflowScript } from '../../core/workflow/workflow-script.js';
import type { ListWorkflowRunsQuery, WorkflowStore } from '../../core/workflow/workflow-store.js';
import { InMemoryBroker } from './in-memory.broker.js';
import { InMemoryResultBackend } from './in-memory.result-backend.js';
import { InMemoryWorkflowStore } from './in-memory.workflow-store.js';

/** Options of {@link StemWorkflowApp}. */
export interface StemWorkflowAppOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly flows?: readonly Flow<any, any>[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly scripts?: readonly WorkflowScript<any, any>[];
  /** Ordinary tasks the app's worker runs too (the ones workflows enqueue). */
  readonly tasks?: readonly TaskHandler[];
  /** Time source of every part (a `FakeWorkflowClock` in tests). @default systemClock */
  readonly clock?: Clock;
  /** Queue of the run tasks. @default 'workflow' */
  readonly queue?: string;
  /** @default '30s' */
  readonly runLeaseDuration?: Duration;
  /** @default '1s' (0 turns the sweep off) */
  readonly sweepInterval?: Duration;
  /** Runs (and tasks) executing at once. @default 8 */
  readonly concurrency?: number;
}

/** The parts {@link StemWorkflowApp.create} runs on. */
export interface StemWorkflowAppParts {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  readonly store: WorkflowStore;
}

/**
 * A workflow runtime with its producer and a started worker in one object, for scripts, tests and
 * small services without Nest.
 *
 * @example
 * const app = await StemWorkflowApp.inMemory({
 *   flows: [new Flow({ name: 'demo.workflow', build: (f) => f.step('hello', () => 'done') })],
 * });
 * const runId = await app.startWorkflow('demo.workflow');
 * const result = await app.waitForCompletion<string>(runId, { timeout: '5s' });
 * result.value; // 'done'
 * await app.shutdown();
 */
export class StemWorkflowApp {
  /** The producer the runtime enqueues run tasks (and the tasks workflows enqueue) with. */
  readonly stem: Stem;
  /** The started worker that runs the run tasks and the app's own tasks. */
  readonly worker: Worker;
  /** The workflow runtime: definitions, client API and events. */
  readonly runtime: WorkflowRuntime;
  private closing?: Promise<void>;

  private constructor(
    readonly broker: Broker,
    readonly backend: ResultBackend | undefined,
    readonly store: WorkflowStore,
    readonly clock: Clock,
    options: StemWorkflowAppOptions,
  ) {
    const registry = new SimpleTaskRegistry(options.tasks ?? []);
    this.stem = new Stem({ broker, ...(backend ? { backend } : {}), registry, clock });
    this.runtime = new WorkflowRuntime({
      store,
      producer: this.stem,
      clock,
      ...(options.queue ? { queue: options.queue } : {}),
      ...(options.runLeaseDuration !== undefined ? { runLeaseDuration: options.runLeaseDuration } : {}),
      ...(options.sweepInterval !== undefined ? { sweepInterval: options.sweepInterval } : {}),
      definitions: [...(options.flows ?? []), ...(options.scripts ?? [])],
    });
    registry.register(this.runtime.taskHandler);
    const queues = new Set([this.runtime.queue, ...(options.tasks ?? []).map((t) => t.options?.queue ?? 'default')]);
    this.worker = new Worker({
      broker,
      ...(backend ? { backend } : {}),
      registry,
      producer: this.stem,
      clock,
      queues: [...queues],
      concurrency: options.concurrency ?? 8,
      extensions: [this.runtime.workerExtension],
    });
  }

  /** An app on the in-memory broker, result backend and workflow store, started. */
  static async inMemory(options: StemWorkflowAppOptions = {}): Promise<StemWorkflowApp> {
    const clock = options.clock ?? systemClock;
    return StemWorkflowApp.create({ broker: new InMemoryBroker({ clock }), backend: new InMemoryResultBackend({ clock }), store: new InMemoryWorkflowStore({ clock }) }, options);
  }

  /** An app on the given parts, started; `shutdown()` closes them. */
  static async create(parts: StemWorkflowAppParts, options: StemWorkflowAppOptions = {}): Promise<StemWorkflowApp> {
    const app = new StemWorkflowApp(parts.broker, parts.backend, parts.store, options.clock ?? systemClock, options);
    await app.worker.start();
    app.runtime.startSweeper();
    return app;
  }

  /** Starts a run; resolves with its id. */
  startWorkflow(name: string, params: unknown = {}, options?: StartWorkflowOptions): Promise<string> {
    return this.runtime.start(name, params, options);
  }

  /** Waits until the run ends (or `timeout` passes on the app's clock). */
  waitForCompletion<T = unknown>(runId: string, options?: WaitForWorkflowOptions<T>): Promise<WorkflowCompletion<T>> {
    return this.runtime.waitForCompletion<T>(runId, options);
  }

  /** Resumes every run waiting on `topic`; resolves with how many. */
  emit(topic: string, payload?: unknown): Promise<number> {
    return this.runtime.emit(topic, payload);
  }

  /** Sends a run-addressed signal. */
  signal(runId: string, name: string, payload?: unknown): Promise<void> {
    return this.runtime.signal(runId, name, payload);
  }

  /** Cancels a run that has not ended; `reason` is kept in its cancellation data. */
  cancel(runId: string, reason?: string): Promise<RunState | null> {
    return this.runtime.cancel(runId, reason);
  }

  /** Clears `step` (every occurrence) and what follows it; the run resumes there. */
  rewind(runId: string, step: string): Promise<RunState> {
    return this.runtime.rewind(runId, step);
  }

  /** The run's state, or `null` when it does not exist. */
  getRun(runId: string): Promise<RunState | null> {
    return this.runtime.get(runId);
  }

  /** The run's checkpoints in order. */
  steps(runId: string): Promise<StepCheckpoint[]> {
    return this.runtime.steps(runId);
  }

  /** Runs by workflow and status, newest first. */
  listRuns(query?: ListWorkflowRunsQuery): Promise<RunState[]> {
    return this.runtime.list(query);
  }

  /** Stops the sweeper, drains the worker, closes the parts. Idempotent; every step runs even if one fails. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const step of [() => this.runtime.close(), () => this.worker.close(), () => this.store.close(), () => this.backend?.close(), () => this.broker.close()]) {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length) throw errors[0];
    })();
    return this.closing;
  }
}
