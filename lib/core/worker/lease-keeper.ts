import type { Broker, Delivery } from '../contracts/broker.js';
import { LeaseLostError } from '../errors/lease-lost.error.js';
import type { Clock, TimerHandle } from '../utils/clock.js';
import { abandon, holdsLease, type Job } from './job.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** Granularity of the lease-renewal sweep. */
const LEASE_SWEEP_MS = 100;

/** Longest wait between two renewals of one lease. */
const MAX_RENEW_INTERVAL_MS = 30_000;

/** Shortest wait before a renewal. */
const MIN_RENEW_INTERVAL_MS = 50;

/**
 * Keeps the leases of every delivery a worker holds (buffered or running): one timer renews each
 * lease that is due, about halfway through what is left of it, instead of a timer per delivery.
 * The timer runs only while something is held. A lease the broker no longer grants abandons its
 * job: another worker may run the delivery now, so this copy is stopped and writes nothing.
 */
export class LeaseKeeper {
  private readonly held = new Set<Job>();
  /** Jobs with a renewal in flight (never two at once for one job). */
  private readonly renewing = new Set<Job>();
  private timer?: TimerHandle;

  constructor(
    private readonly broker: Broker,
    private readonly clock: Clock,
    private readonly signals: WorkerSignalSink,
  ) {}

  /** Starts renewing the job's lease. */
  hold(job: Job): void {
    this.held.add(job);
    this.arm();
  }

  /** The job left the worker: stop renewing its lease. */
  drop(job: Job): void {
    this.held.delete(job);
  }

  /** When to renew: halfway through what is left of the lease (at least 50 ms from now). */
  renewAtFor(delivery: Delivery, leaseMs: number): number {
    const now = this.clock.now();
    const remaining = delivery.leaseExpiresAt - now;
    return now + Math.min(MAX_RENEW_INTERVAL_MS, Math.max(MIN_RENEW_INTERVAL_MS, Math.floor(Math.min(remaining, leaseMs) / 2)));
  }

  /** Extends one delivery's lease by `ms` now (auto-renewal, `ctx.heartbeat`, `ctx.extendLease`). */
  async renew(delivery: Delivery, ms: number): Promise<void> {
    await this.broker.extendLease(delivery, ms);
    this.signals.emit('task-lease-renewed', { delivery });
  }

  /** Stops the sweep. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer || this.held.size === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      this.arm();
    }, LEASE_SWEEP_MS);
  }

  private sweep(): void {
    const horizon = this.clock.now() + LEASE_SWEEP_MS / 2;
    for (const job of this.held) {
      if (!holdsLease(job) || this.renewing.has(job) || job.renewAt > horizon) continue;
      this.renewing.add(job);
      this.renew(job.delivery, job.leaseMs)
        .then(
          () => {
            job.renewAt = this.renewAtFor(job.delivery, job.leaseMs);
          },
          (error) => this.failed(job, error),
        )
        .finally(() => this.renewing.delete(job));
    }
  }

  private failed(job: Job, error: unknown): void {
    if (!(error instanceof LeaseLostError)) {
      this.signals.error(error);
      return;
    }
    // NOTE: another worker may run this delivery now; stop this copy and write nothing.
    abandon(job, error);
    this.signals.emit('task-lease-lost', { envelope: job.delivery.envelope, error });
  }
}
