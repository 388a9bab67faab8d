import type { EnqueueOptions } from '../task-options.js';
import type { Duration } from '../beat/duration.js';
import type { RunExecution } from './run-execution.js';
import type { FlowContext, StepContext, WorkflowWaitOptions } from './workflow-context.js';
import { toMillis } from './workflow-duration.js';

/** The {@link StepContext} of one step run. */
export class RunStepContext<P = unknown> implements StepContext<P> {
  readonly workflow: string;
  readonly runId: string;
  readonly params: P;
  readonly previousResult: unknown;

  constructor(
    protected readonly exec: RunExecution,
    readonly step: string,
    readonly checkpoint: string,
    readonly iteration: number,
    readonly attempt: number,
  ) {
    this.workflow = exec.run.workflow;
    this.runId = exec.run.id;
    this.params = exec.run.params as P;
    this.previousResult = exec.previous;
  }

  get signal(): AbortSignal {
    return this.exec.signal;
  }

  idempotencyKey(scope?: string): string {
    return this.exec.idempotencyKey(this.checkpoint, scope);
  }
}

/** A suspension a flow step asked for. */
export type FlowSuspendRequest =
  | { readonly type: 'sleep'; readonly ms: number; readonly data?: unknown }
  | { readonly type: 'event'; readonly topic: string; readonly timeoutMs?: number; readonly data?: unknown };

/** The {@link FlowContext} of one flow step run; the runtime reads back `repeated` and `suspend`. */
export class RunFlowContext<P = unknown> extends RunStepContext<P> implements FlowContext<P> {
  repeated = false;
  suspend: FlowSuspendRequest | undefined;
  private resume: { value: unknown; taken: boolean; fromSleep: boolean } | undefined;

  constructor(exec: RunExecution, step: string, checkpoint: string, iteration: number, attempt: number) {
    super(exec, step, checkpoint, iteration, attempt);
    const data = exec.resumeFor(checkpoint);
    if (data) this.resume = { value: data.payload, taken: false, fromSleep: data.type === 'sleep' };
  }

  repeat(): void {
    this.repeated = true;
  }

  sleep(duration: Duration, options: { data?: unknown } = {}): void {
    // NOTE: replay-aware: the step that woke from a sleep may call sleep() again on its way to
    // the code after it; only a sleep beyond that one suspends.
    if (this.resume?.fromSleep) {
      this.resume.fromSleep = false;
      return;
    }
    this.suspend = { type: 'sleep', ms: toMillis(duration, `sleep in step "${this.checkpoint}"`), ...(options.data !== undefined ? { data: options.data } : {}) };
  }

  awaitEvent(topic: string, options: WorkflowWaitOptions & { data?: unknown } = {}): void {
    this.suspend = {
      type: 'event',
      topic,
      ...(options.timeout !== undefined ? { timeoutMs: toMillis(options.timeout, `awaitEvent timeout in step "${this.checkpoint}"`) } : {}),
      ...(options.data !== undefined ? { data: options.data } : {}),
    };
  }

  takeResumeData<T = unknown>(): T | undefined {
    if (!this.resume || this.resume.taken) return undefined;
    this.resume.taken = true;
    return this.resume.value as T;
  }

  enqueue(task: string, args?: unknown, options?: EnqueueOptions): Promise<string> {
    return this.exec.enqueue(task, args ?? {}, options, this.checkpoint);
  }
}
