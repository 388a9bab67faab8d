import type { StemTracing } from '../observability/stem-tracing.js';
import type { TaskProducer } from '../contracts/producer.js';
import type { EnqueueOptions } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { TypedEmitter } from '../utils/typed-emitter.js';
import { clampResumeAt, trippedPolicy } from './cancellation-policy.js';
import { WorkflowDivergenceError } from './errors/workflow-divergence.error.js';
import type { RunState, StepCheckpoint, WorkflowResumeData } from './run-state.js';
import { type RunOutcome, WorkflowInterrupt } from './run-interrupt.js';
import { runInStepScope } from './step-scope.js';
import type { StepContext, WorkflowStepOptions } from './workflow-context.js';
import { toMillis } from './workflow-duration.js';
import type { WorkflowEvents } from './workflow.events.js';
import { WorkflowMeta } from './workflow.constants.js';
import { toWorkflowRunError, type WorkflowStore } from './workflow-store.js';

const RETRY_BASE_MS = 1_000;
const RETRY_CAP_MS = 300_000;

/** What every execution of a run needs from its runtime. */
export interface RunExecutionDeps {
  readonly store: WorkflowStore;
  readonly clock: Clock;
  readonly producer: TaskProducer;
  readonly events: TypedEmitter<WorkflowEvents>;
  /** Opens `workflow <name>` and `step <name>` spans (the producer's tracing); none when absent. */
  readonly tracing?: StemTracing;
}

/**
 * How an execution learns that it must stop (shutdown, lost lease): `aborted` is checked before
 * every new step; `signal` is what steps see as `ctx.signal`, read only when a step asks (a task
 * attempt creates its signal lazily).
 */
export interface RunAbort {
  readonly aborted: boolean;
  readonly signal: AbortSignal;
}

/** A {@link RunAbort} over an existing signal. */
export function abortOf(signal: AbortSignal): RunAbort {
  return {
    get aborted() {
      return signal.aborted;
    },
    signal,
  };
}

/**
 * One execution of one run (one run task): the recorded history it replays against, the
 * position it reached, and the writes it makes as lease owner `ownerId`. Shared by the script
 * and the flow form.
 */
export class RunExecution {
  /** Next position in the history. */
  position = 0;

  /**
   * Runs a new step's code with `ctx` as its step context, inside its `step <checkpoint>` span
   * when spans record (else directly: no span attributes, no extra promise).
   */
  runStep<T>(checkpoint: string, ctx: StepContext, fn: () => T | Promise<T>): T | Promise<T> {
    const tracing = this.deps.tracing;
    if (tracing?.enabled) return tracing.traceStep({ workflow: this.run.workflow, runId: this.run.id, name: checkpoint }, async () => runInStepScope(ctx, fn));
    return runInStepScope(ctx, fn);
  }
  /** Value of the last checkpoint passed or saved. */
  previous: unknown = undefined;
  private readonly recorded: StepCheckpoint[];

  constructor(
    readonly deps: RunExecutionDeps,
    readonly run: RunState,
    recorded: readonly StepCheckpoint[],
    readonly ownerId: string,
    readonly abort: RunAbort,
  ) {
    this.recorded = [...recorded];
    this.ownerOnly = { ownerId };
  }

  /** The options of a checkpoint write without meta (one object for every write of the execution). */
  private readonly ownerOnly: { readonly ownerId: string };

  /** The execution's abort signal (the run task's `ctx.signal`). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * The first error a store call of this execution threw. An outage is not the run's failure:
   * the execution ends by throwing it, so its run task fails and is retried, and the retry
   * replays from the last checkpoint that was written.
   */
  storeFailure: unknown = undefined;
  private guarded: WorkflowStore | undefined;

  /** The store, with every failing call recorded in {@link storeFailure}. */
  get store(): WorkflowStore {
    return (this.guarded ??= recordFailures(this.deps.store, (error) => {
      this.storeFailure ??= error;
    }));
  }

  get now(): number {
    return this.deps.clock.now();
  }

  /**
   * The checkpoint recorded at the current position, if any, after checking that it is
   * `checkpoint` (else the run diverged). Does not move the position.
   */
  recordedAt(checkpoint: string): StepCheckpoint | undefined {
    const rec = this.recorded[this.position];
    if (!rec) return undefined;
    if (rec.name !== checkpoint) {
      const error = new WorkflowDivergenceError(this.run.workflow, this.run.id, this.position, rec.name, checkpoint);
      throw new WorkflowInterrupt({ kind: 'failed', error: toWorkflowRunError(error, this.now, checkpoint) });
    }
    return rec;
  }

  /** Moves past a recorded checkpoint. */
  pass(rec: StepCheckpoint): unknown {
    this.position++;
    this.previous = rec.value;
    return rec.value;
  }

  /** Before a step that has no checkpoint runs: stop when `maxRunDuration` passed. */
  beforeNewStep(): void {
    if (this.abort.aborted) throw new WorkflowInterrupt({ kind: 'stopped' });
    // NOTE: a running run has no suspension; without a policy nothing can trip (no copy of the run then).
    if (!this.run.cancellationPolicy) return;
    const trip = trippedPolicy({ ...this.run, suspension: null }, this.now);
    if (trip) throw new WorkflowInterrupt({ kind: 'cancelled', ...trip });
  }

  /** Saves checkpoint `checkpoint` at the current position and moves past it. */
  async save(checkpoint: string, value: unknown, meta?: Readonly<Record<string, unknown>>): Promise<void> {
    let saved: boolean;
    try {
      saved = await this.deps.store.saveStep(this.run.id, checkpoint, value, meta ? { ownerId: this.ownerId, meta } : this.ownerOnly);
    } catch (error) {
      // NOTE: recorded as the guarded `store` does, without creating it for the common path.
      this.storeFailure ??= error;
      throw error;
    }
    if (!saved) throw new WorkflowInterrupt({ kind: 'stopped' });
    const position = this.position;
    this.recorded[position] = meta ? { name: checkpoint, value, position, completedAt: this.now, meta } : { name: checkpoint, value, position, completedAt: this.now };
    this.position++;
    this.previous = value;
    this.deps.events.emit('step:completed', this.run.id, checkpoint);
  }

  /** Records that the run passed a checkpoint written by the store itself (a taken signal). */
  passWritten(checkpoint: string, value: unknown): void {
    this.recorded[this.position] = { name: checkpoint, value, position: this.position, completedAt: this.now };
    this.position++;
    this.previous = value;
    this.deps.events.emit('step:completed', this.run.id, checkpoint);
  }

  /** 0-based attempt of `checkpoint`: one more than the attempt that last failed there. */
  attemptOf(checkpoint: string): number {
    const last = this.run.lastError;
    return last?.step === checkpoint ? (last.attempt ?? 0) + 1 : 0;
  }

  /** The resume payload waiting for `checkpoint`, if the run resumed there. */
  resumeFor(checkpoint: string): WorkflowResumeData | undefined {
    const data = this.run.resumeData;
    return data && data.step === checkpoint ? data : undefined;
  }

  /** Decides what a step's throw means: a delayed retry (the run suspends) or the run's failure. */
  async stepFailed(checkpoint: string, attempt: number, error: unknown, options: WorkflowStepOptions | undefined, iteration?: number): Promise<RunOutcome> {
    if (error instanceof WorkflowInterrupt) return error.outcome;
    const now = this.now;
    const runError = toWorkflowRunError(error, now, checkpoint, attempt);
    const maxRetries = options?.maxRetries ?? 0;
    if (attempt >= maxRetries) return { kind: 'failed', error: runError };
    const delay = retryDelay(options, attempt, checkpoint);
    if (!(await this.store.markFailed(this.run.id, runError, { terminal: false, ownerId: this.ownerId }))) return { kind: 'stopped' };
    this.deps.events.emit('step:retrying', this.run.id, checkpoint, runError, delay);
    return this.suspendUntil(checkpoint, now + delay, { type: 'retry', ...(iteration !== undefined ? { iteration } : {}) });
  }

  /** Suspends until `resumeAt` (clamped by the cancellation policy). */
  async suspendUntil(checkpoint: string, resumeAt: number, options: { type?: 'sleep' | 'retry'; data?: unknown; iteration?: number } = {}): Promise<RunOutcome> {
    const at = clampResumeAt(this.run, this.now, resumeAt) ?? resumeAt;
    const ok = await this.store.suspendUntil(this.run.id, checkpoint, at, { ...options, requestedResumeAt: resumeAt, ownerId: this.ownerId });
    return ok ? { kind: 'suspended', resumeAt: at } : { kind: 'stopped' };
  }

  /** Suspends on `topic` with an optional timeout in ms. */
  async suspendOnTopic(checkpoint: string, topic: string, timeoutMs: number | undefined, options: { data?: unknown; iteration?: number } = {}): Promise<RunOutcome> {
    const requested = timeoutMs === undefined ? null : this.now + timeoutMs;
    const deadline = clampResumeAt(this.run, this.now, requested);
    const ok = await this.store.suspendOnTopic(this.run.id, checkpoint, topic, { ...options, deadline, requestedDeadline: requested, ownerId: this.ownerId });
    return ok ? { kind: 'suspended', resumeAt: deadline } : { kind: 'stopped' };
  }

  /** Suspends until signal `name`; `undefined` when one is already waiting (take it instead). */
  async suspendOnSignal(checkpoint: string, name: string, timeoutMs: number | undefined, iteration: number): Promise<RunOutcome | undefined> {
    const requested = timeoutMs === undefined ? null : this.now + timeoutMs;
    const deadline = clampResumeAt(this.run, this.now, requested);
    if (await this.store.suspendOnSignal(this.run.id, checkpoint, name, { deadline, requestedDeadline: requested, iteration, ownerId: this.ownerId })) {
      return { kind: 'suspended', resumeAt: deadline };
    }
    return undefined;
  }

  /** `<workflow>/<runId>[/<checkpoint>][/<scope>]`. */
  idempotencyKey(checkpoint: string | undefined, scope?: string): string {
    const base = checkpoint ? `${this.run.workflow}/${this.run.id}/${checkpoint}` : `${this.run.workflow}/${this.run.id}`;
    return scope ? `${base}/${scope}` : base;
  }

  /** Enqueues a task with `stem.workflow.*` meta. */
  enqueue(task: string, args: unknown, options: EnqueueOptions | undefined, checkpoint: string | undefined): Promise<string> {
    return this.deps.producer.enqueue(task, args, {
      ...options,
      meta: {
        ...options?.meta,
        [WorkflowMeta.workflow]: this.run.workflow,
        [WorkflowMeta.runId]: this.run.id,
        ...(checkpoint ? { [WorkflowMeta.step]: checkpoint } : {}),
      },
    });
  }
}

/** `store` with each method's throw or rejection passed to `onFailure` (and still thrown). */
function recordFailures(store: WorkflowStore, onFailure: (error: unknown) => void): WorkflowStore {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(key);
      if (!fn) {
        fn = (...args: unknown[]) => {
          try {
            const out = (value as (...a: unknown[]) => unknown).apply(target, args);
            return out instanceof Promise
              ? out.catch((error: unknown) => {
                  onFailure(error);
                  throw error;
                })
              : out;
          } catch (error) {
            onFailure(error);
            throw error;
          }
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}

function retryDelay(options: WorkflowStepOptions | undefined, retry: number, checkpoint: string): number {
  const configured = options?.retryDelay;
  if (typeof configured === 'function') return Math.max(0, configured(retry));
  if (configured !== undefined) return toMillis(configured, `retryDelay of step "${checkpoint}"`);
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** retry);
}
