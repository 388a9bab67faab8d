import type { Delivery } from '../contracts/broker.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import type { TaskLogSink } from '../observability/task-logger.js';
import type { Stem } from '../stem.js';
import type { Clock } from '../utils/clock.js';
import type { Job } from './job.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { TaskContextHost } from './worker-task-context.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** What {@link WorkerContextHost} needs from its worker. */
export interface WorkerContextHostOptions {
  readonly backend?: ResultBackend;
  readonly leases: LeaseKeeper;
  readonly clock: Clock;
  readonly signals: WorkerSignalSink;
  readonly producer: Stem;
  /** Where `ctx.logger` lines go. */
  readonly taskLogSink: TaskLogSink;
  /** The running job of a delivery, if it still runs. */
  jobOf(delivery: Delivery): Job | undefined;
}

/** Carries out what a task's `ctx` asks of its worker: heartbeats, lease extensions, progress, child tasks. */
export class WorkerContextHost implements TaskContextHost {
  constructor(private readonly options: WorkerContextHostOptions) {}

  get taskLogSink(): TaskLogSink {
    return this.options.taskLogSink;
  }

  async heartbeat(delivery: Delivery): Promise<void> {
    const { backend, leases, clock, signals } = this.options;
    const job = this.options.jobOf(delivery);
    await backend?.touch(delivery.envelope.id, { heartbeatAt: clock.now() });
    if (job) await leases.renew(delivery, job.leaseMs);
    signals.emit('task-heartbeat', { envelope: delivery.envelope });
  }

  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    const { leases } = this.options;
    await leases.renew(delivery, ms);
    const job = this.options.jobOf(delivery);
    if (job) {
      job.leaseMs = ms;
      job.renewAt = leases.renewAtFor(delivery, ms);
    }
  }

  async progress(delivery: Delivery, percent: number, data: unknown): Promise<void> {
    await this.options.backend?.touch(delivery.envelope.id, { progress: { percent, data, updatedAt: this.options.clock.now() } });
    this.options.signals.emit('task-progress', { envelope: delivery.envelope, percent, data });
  }

  enqueue(name: string, args: unknown, options: Parameters<Stem['enqueue']>[2]): Promise<string> {
    return this.options.producer.enqueue(name, args, options);
  }
}
