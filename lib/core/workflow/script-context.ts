import type { Duration } from '../beat/duration.js';
import type { EnqueueOptions } from '../task-options.js';
import { ConcurrentWorkflowStepError } from './errors/concurrent-workflow-step.error.js';
import { DuplicateWorkflowRunError } from './errors/duplicate-workflow-run.error.js';
import { WorkflowChildFailedError } from './errors/workflow-child-failed.error.js';
import { WorkflowRunNotFoundError } from './errors/workflow-run-not-found.error.js';
import type { RunExecution } from './run-execution.js';
import { type RunOutcome, WorkflowInterrupt } from './run-interrupt.js';
import { RunStepContext } from './step-context.impl.js';
import { insideStep } from './step-scope.js';
import type { StartChildOptions, StepContext, WorkflowContext, WorkflowReference, WorkflowStepOptions, WorkflowWaitOptions } from './workflow-context.js';
import type { StartWorkflowOptions } from './workflow-client.js';
import { toMillis } from './workflow-duration.js';
import { childSignalName, INTERNAL_STEP_PREFIX } from './workflow.constants.js';
import type { ChildRunOutcome } from './workflow-store.js';

/** Starts a run (the runtime's `start`). */
export type StartRun = (workflow: WorkflowReference, params: unknown, options: StartWorkflowOptions) => Promise<string>;

/**
 * The script form's {@link WorkflowContext} for one execution: numbers every call by name and
 * occurrence, returns recorded values on replay, runs and checkpoints new steps, and suspends.
 */
export class ScriptRunContext<P = unknown> implements WorkflowContext<P> {
  readonly workflow: string;
  readonly runId: string;
  readonly params: P;
  readonly parentRunId: string | null;
  /** Set once the execution's outcome is decided; every later call throws it. */
  outcome: RunOutcome | undefined;
  private readonly occurrences = new Map<string, number>();
  private busy: string | undefined;

  constructor(
    private readonly exec: RunExecution,
    private readonly startRun: StartRun,
  ) {
    this.workflow = exec.run.workflow;
    this.runId = exec.run.id;
    this.params = exec.run.params as P;
    this.parentRunId = exec.run.parentRunId;
  }

  async step<T>(name: string, fn: (step: StepContext<P>) => T | Promise<T>, options?: WorkflowStepOptions): Promise<T> {
    if (!name || name.startsWith(INTERNAL_STEP_PREFIX)) {
      throw new TypeError(`Workflow "${this.workflow}": step name "${name}" is not allowed (it must be non-empty and not start with "${INTERNAL_STEP_PREFIX}")`);
    }
    const { checkpoint, iteration, recorded } = this.enter(name);
    if (recorded) return this.exec.pass(recorded) as T;
    const attempt = this.exec.attemptOf(checkpoint);
    // NOTE: guard() and guardAsync() written out on this path, which every new step takes.
    try {
      this.exec.beforeNewStep();
    } catch (error) {
      this.interrupted(error);
      throw error;
    }
    const ctx = new RunStepContext<P>(this.exec, name, checkpoint, iteration, attempt);
    this.busy = checkpoint;
    let value: T;
    try {
      value = await this.exec.runStep(checkpoint, ctx as StepContext, () => fn(ctx));
    } catch (error) {
      this.busy = undefined;
      this.decide(await this.exec.stepFailed(checkpoint, attempt, error, options, iteration));
      // NOTE: after the last retry the original error reaches the run function (its `finally`
      // blocks run), but the run fails whatever the function does with it.
      if (this.outcome?.kind === 'failed') throw error;
      throw new WorkflowInterrupt(this.outcome!);
    }
    this.busy = undefined;
    try {
      await this.exec.save(checkpoint, value);
    } catch (error) {
      this.interrupted(error);
      throw error;
    }
    return value;
  }

  async sleep(duration: Duration): Promise<void> {
    const ms = toMillis(duration, `sleep of workflow "${this.workflow}"`);
    const { checkpoint, iteration, recorded } = this.enter(`${INTERNAL_STEP_PREFIX}sleep`);
    if (recorded) return void this.exec.pass(recorded);
    if (this.exec.resumeFor(checkpoint)) return this.guardAsync(() => this.exec.save(checkpoint, null));
    this.guard(() => this.exec.beforeNewStep());
    this.decide(await this.exec.suspendUntil(checkpoint, this.exec.now + ms, { iteration }));
    throw new WorkflowInterrupt(this.outcome!);
  }

  async awaitEvent<T = unknown>(topic: string, options: WorkflowWaitOptions = {}): Promise<T | null> {
    const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, `awaitEvent("${topic}") timeout`);
    const { checkpoint, iteration, recorded } = this.enter(`${INTERNAL_STEP_PREFIX}awaitEvent`);
    if (recorded) return this.exec.pass(recorded) as T | null;
    const resumed = this.exec.resumeFor(checkpoint);
    if (resumed) {
      const value = resumed.type === 'event' ? (resumed.payload as T) : null;
      await this.guardAsync(() => this.exec.save(checkpoint, value));
      return value;
    }
    this.guard(() => this.exec.beforeNewStep());
    this.decide(await this.exec.suspendOnTopic(checkpoint, topic, timeout, { iteration }));
    throw new WorkflowInterrupt(this.outcome!);
  }

  async waitForSignal<T = unknown>(name: string, options: WorkflowWaitOptions = {}): Promise<T | null> {
    const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, `waitForSignal("${name}") timeout`);
    return this.waitSignal<T>(`${INTERNAL_STEP_PREFIX}waitForSignal`, name, timeout);
  }

  async startChild(workflow: WorkflowReference, params: unknown = {}, options: StartChildOptions = {}): Promise<string> {
    const { checkpoint, recorded } = this.enter(`${INTERNAL_STEP_PREFIX}startChild`);
    if (recorded) return this.exec.pass(recorded) as string;
    this.guard(() => this.exec.beforeNewStep());
    // NOTE: the child's id follows from the checkpoint, so a replay after a crash between
    // creating the child and saving the checkpoint finds the same child instead of a second one.
    const childId = `${this.runId}.${checkpoint.slice(INTERNAL_STEP_PREFIX.length)}`;
    try {
      await this.startRun(workflow, params, { runId: childId, parentRunId: this.runId, ...(options.cancellationPolicy ? { cancellationPolicy: options.cancellationPolicy } : {}) });
    } catch (error) {
      if (!(error instanceof DuplicateWorkflowRunError)) throw error;
    }
    await this.guardAsync(() => this.exec.save(checkpoint, childId));
    return childId;
  }

  async waitForChild<T = unknown>(childRunId: string, options: WorkflowWaitOptions = {}): Promise<T | null> {
    const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, `waitForChild("${childRunId}") timeout`);
    const outcome = await this.waitSignal<ChildRunOutcome>(`${INTERNAL_STEP_PREFIX}waitForChild`, childSignalName(childRunId), timeout, async () => {
      const child = await this.exec.store.get(childRunId);
      if (!child || child.parentRunId !== this.runId) throw new WorkflowRunNotFoundError(`${childRunId} (not a child of run ${this.runId})`);
    });
    if (outcome === null) return null;
    if (outcome.status === 'completed') return outcome.result as T;
    const detail = outcome.status === 'failed' ? (outcome.error?.message ?? 'failed') : (outcome.cancellationData?.reason ?? 'cancelled');
    throw new WorkflowChildFailedError(outcome.runId, outcome.workflow, outcome.status, detail);
  }

  async enqueue(task: string, args: unknown = {}, options?: EnqueueOptions): Promise<string> {
    const { checkpoint, recorded } = this.enter(`${INTERNAL_STEP_PREFIX}enqueue`);
    if (recorded) return this.exec.pass(recorded) as string;
    this.guard(() => this.exec.beforeNewStep());
    const id = await this.exec.enqueue(task, args, options, checkpoint);
    await this.guardAsync(() => this.exec.save(checkpoint, id));
    return id;
  }

  idempotencyKey(scope?: string): string {
    return this.exec.idempotencyKey(this.busy, scope);
  }

  private async waitSignal<T>(base: string, name: string, timeout: number | undefined, check?: () => Promise<void>): Promise<T | null> {
    const { checkpoint, iteration, recorded } = this.enter(base);
    if (recorded) return this.exec.pass(recorded) as T | null;
    await check?.();
    // NOTE: a signal that arrives between taking and suspending makes the suspension refuse;
    // take again. Twice is enough: only a lost lease keeps both from succeeding.
    for (let round = 0; round < 3; round++) {
      const taken = await this.exec.store.takeSignal(this.runId, name, checkpoint, { ownerId: this.exec.ownerId });
      if (taken) {
        this.exec.passWritten(checkpoint, taken.payload);
        return taken.payload as T;
      }
      if (this.exec.resumeFor(checkpoint)?.type === 'timeout') {
        await this.guardAsync(() => this.exec.save(checkpoint, null));
        return null;
      }
      if (round === 0) this.guard(() => this.exec.beforeNewStep());
      const suspended = await this.exec.suspendOnSignal(checkpoint, name, timeout, iteration);
      if (suspended) {
        this.decide(suspended);
        throw new WorkflowInterrupt(suspended);
      }
    }
    this.decide({ kind: 'stopped' });
    throw new WorkflowInterrupt(this.outcome!);
  }

  /** Numbers a call and finds its checkpoint; refuses calls after the outcome was decided or while a step runs. */
  private enter(base: string): { checkpoint: string; iteration: number; recorded: ReturnType<RunExecution['recordedAt']> } {
    if (this.outcome) throw new WorkflowInterrupt(this.outcome);
    const iteration = this.occurrences.get(base) ?? 0;
    const checkpoint = `${base}#${iteration}`;
    if (this.busy) {
      if (insideStep()) throw new ConcurrentWorkflowStepError(this.workflow, this.runId, this.busy, `${checkpoint} (inside step "${this.busy}": call plain functions there)`);
      throw new ConcurrentWorkflowStepError(this.workflow, this.runId, this.busy, checkpoint);
    }
    this.occurrences.set(base, iteration + 1);
    try {
      return { checkpoint, iteration, recorded: this.exec.recordedAt(checkpoint) };
    } catch (error) {
      this.interrupted(error);
      throw error;
    }
  }

  private decide(outcome: RunOutcome): void {
    this.outcome ??= outcome;
  }

  /** An interrupt thrown on the way decides the outcome. */
  private interrupted(error: unknown): void {
    if (error instanceof WorkflowInterrupt) this.decide(error.outcome);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.interrupted(error);
      throw error;
    }
  }

  private async guardAsync<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.interrupted(error);
      throw error;
    }
  }
}
