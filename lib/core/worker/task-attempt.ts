import type { Delivery } from '../contracts/broker.js';
import type { Envelope } from '../envelope.js';
import type { TaskHandler } from '../task-handler.js';
import type { RetryPolicy } from '../task-options.js';
import type { Job } from './job.js';
import type { TaskRun } from './task-executor.js';
import { type TaskContextHost, WorkerTaskContext } from './worker-task-context.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** The worker's {@link TaskRun}: one admitted attempt of a job. */
export class TaskAttempt implements TaskRun {
  readonly envelope: Envelope;
  readonly delivery: Delivery;
  readonly context: WorkerTaskContext;

  constructor(
    private readonly job: Job,
    readonly handler: TaskHandler,
    readonly args: unknown,
    readonly maxRetries: number,
    readonly retryPolicy: RetryPolicy | undefined,
    readonly softTimeLimit: number | undefined,
    readonly hardTimeLimit: number | undefined,
    host: TaskContextHost,
    private readonly signals: WorkerSignalSink,
  ) {
    this.delivery = job.delivery;
    this.envelope = job.delivery.envelope;
    this.context = new WorkerTaskContext(job.delivery, maxRetries, () => job.controller.signal, host);
  }

  get statusMeta(): Record<string, unknown> {
    return (this.job.statusMeta ??= {});
  }

  get signal(): AbortSignal {
    return this.job.controller.signal;
  }

  get aborted(): boolean {
    return this.job.controller.aborted;
  }

  abort(reason: unknown): void {
    this.job.controller.abort(reason);
  }

  softTimeout(): void {
    this.signals.emit('task-soft-timeout', { envelope: this.envelope });
    this.job.controller.abort(new Error(`Task "${this.envelope.name}" passed its soft time limit of ${this.softTimeLimit} ms`));
  }
}
