import type { Delivery } from '../../core/contracts/broker.js';
import type { Clock, TimerHandle } from '../../core/utils/clock.js';

/** The leases of one duration, in the order they were taken, hence in the order they expire. */
interface LeaseList {
  readonly leases: Map<string, Delivery>;
  timer?: TimerHandle;
}

/**
 * When the in-memory broker's leases run out: one list per lease duration, each watched by one
 * timer set for its oldest lease (as Node groups its own timers).
 * Settling a lease only drops it from its list; the timer, when it fires, lapses what is due and
 * is set again for the next lease.
 */
export class InMemoryLeaseTimers {
  private readonly lists = new Map<number, LeaseList>();
  private readonly durations = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    /** Called once for each lease that ran out before it was settled. */
    private readonly lapse: (delivery: Delivery) => void,
  ) {}

  /** Watches `delivery`, leased for `ms` from now (its `leaseExpiresAt`). */
  add(delivery: Delivery, ms: number): void {
    let list = this.lists.get(ms);
    if (!list) this.lists.set(ms, (list = { leases: new Map() }));
    list.leases.set(delivery.receipt, delivery);
    this.durations.set(delivery.receipt, ms);
    if (!list.timer) this.arm(list, ms, delivery.leaseExpiresAt);
  }

  /** Stops watching the lease of `receipt` (settled or renewed). */
  remove(receipt: string): void {
    const ms = this.durations.get(receipt);
    if (ms === undefined) return;
    this.durations.delete(receipt);
    const list = this.lists.get(ms);
    if (!list) return;
    list.leases.delete(receipt);
    if (list.leases.size > 0) return;
    // NOTE: an empty list goes, so durations used once (a renewal by a computed length) do not pile up.
    list.timer?.cancel();
    this.lists.delete(ms);
  }

  /** Cancels every timer (the broker closed). */
  clear(): void {
    for (const list of this.lists.values()) list.timer?.cancel();
    this.lists.clear();
    this.durations.clear();
  }

  private arm(list: LeaseList, ms: number, at: number): void {
    list.timer = this.clock.setTimeout(() => this.fire(list, ms), at - this.clock.now());
  }

  private fire(list: LeaseList, ms: number): void {
    list.timer = undefined;
    const now = this.clock.now();
    for (const [receipt, delivery] of list.leases) {
      if (delivery.leaseExpiresAt > now) {
        // NOTE: a lapse can hand the envelope straight to a waiting fetch, whose new lease (at
        // the end of this list) set the timer for itself; the oldest lease left decides.
        (list.timer as TimerHandle | undefined)?.cancel();
        this.arm(list, ms, delivery.leaseExpiresAt);
        return;
      }
      list.leases.delete(receipt);
      this.durations.delete(receipt);
      this.lapse(delivery);
    }
    if (this.lists.get(ms) === list && list.leases.size === 0) this.lists.delete(ms);
  }
}
