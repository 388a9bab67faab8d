import type { Broker } from '../contracts/broker.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { Clock, TimerHandle } from '../utils/clock.js';

/** Options of worker autoscaling (`WorkerOptions.autoscale`). */
export interface AutoscaleOptions {
  /** Concurrency when idle. @default 1 */
  readonly min?: number;
  /** Concurrency cap under load; never exceeded. */
  readonly max: number;
  /** Pending tasks that justify one more slot. @default 1 */
  readonly backlogPerSlot?: number;
  /** Ms after a scale-up before the next one. @default 1000 */
  readonly scaleUpCooldown?: number;
  /** Ms after any scaling before a scale-down. @default 10000 */
  readonly scaleDownCooldown?: number;
  /** Ms without backlog before scaling down to what runs (at least `min`). @default 30000 */
  readonly idlePeriod?: number;
  /** Ms between two looks at the backlog. @default 1000 */
  readonly interval?: number;
}

/** What an {@link Autoscaler} scales: a worker. */
export interface AutoscaleTarget {
  readonly queues: readonly string[];
  readonly concurrency: number;
  stats(): { readonly active: number; readonly buffered: number };
  setConcurrency(concurrency: number): void;
}

/** Why the concurrency changed. */
export type AutoscaleReason = 'backlog' | 'idle';

/**
 * Moves a worker's concurrency between `min` and `max` from the broker's pending count: up by
 * `backlog / backlogPerSlot` slots (after `scaleUpCooldown`), down to what runs once nothing
 * was pending for `idlePeriod` (after `scaleDownCooldown`). Ticks on the worker's clock.
 */
export class Autoscaler {
  private readonly min: number;
  private readonly max: number;
  private timer?: TimerHandle;
  private lastScaleUp = -Infinity;
  private lastScale = -Infinity;
  private lastBacklogAt: number;
  private ticking?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly target: AutoscaleTarget,
    private readonly broker: Broker,
    private readonly options: AutoscaleOptions,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    private readonly onScale: (info: { from: number; to: number; reason: AutoscaleReason; pending: number }) => void = () => undefined,
  ) {
    this.min = Math.max(1, Math.floor(options.min ?? 1));
    this.max = Math.floor(options.max);
    if (!Number.isFinite(this.max) || this.max < this.min) {
      throw new ConfigurationError('autoscale.max', `must be a whole number at least autoscale.min (${this.min}), got ${options.max}`);
    }
    this.lastBacklogAt = clock.now();
  }

  /** The concurrency to start with: `min`. */
  get initial(): number {
    return this.min;
  }

  start(): void {
    this.schedule();
  }

  /** Stops ticking; waits for a tick in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.ticking;
  }

  /** Looks at the backlog once and scales if due (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    let pending = 0;
    for (const queue of this.target.queues) pending += await this.broker.pendingCount(queue);
    const now = this.clock.now();
    const stats = this.target.stats();
    const backlog = pending + stats.buffered;
    const current = this.target.concurrency;
    const perSlot = Math.max(1, this.options.backlogPerSlot ?? 1);
    if (backlog > 0) this.lastBacklogAt = now;
    if (backlog >= perSlot && current < this.max && now - this.lastScaleUp >= (this.options.scaleUpCooldown ?? 1_000)) {
      const to = Math.min(this.max, current + Math.floor(backlog / perSlot));
      return this.scale(current, to, 'backlog', pending, now, true);
    }
    const floor = Math.max(this.min, stats.active);
    const idle = now - this.lastBacklogAt >= (this.options.idlePeriod ?? 30_000);
    if (backlog === 0 && idle && current > floor && now - this.lastScale >= (this.options.scaleDownCooldown ?? 10_000)) {
      this.scale(current, floor, 'idle', pending, now, false);
    }
  }

  private scale(from: number, to: number, reason: AutoscaleReason, pending: number, now: number, up: boolean): void {
    this.target.setConcurrency(to);
    this.lastScale = now;
    if (up) this.lastScaleUp = now;
    this.onScale({ from, to, reason, pending });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.ticking = this.tick()
        .catch(this.onError)
        .finally(() => {
          this.ticking = undefined;
          this.schedule();
        });
    }, this.options.interval ?? 1_000);
  }
}
