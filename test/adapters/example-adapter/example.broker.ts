import {
  type Broker,
  type ConsumeOptions,
  type Consumer,
  type DeadLetterEntry,
  deadLetterMatcher,
  type DeadLetterPage,
  type Delivery,
  type NackOptions,
  type PurgeDeadLettersOptions,
  type ReplayOptions,
  type ReplayResult,
} from '../../../lib/core/contracts/broker.js';
import type { Envelope } from '../../../lib/core/envelope.js';
import { LeaseLostError } from '../../../lib/core/errors/lease-lost.error.js';

interface Lease {
  readonly delivery: Delivery;
  readonly queue: string;
}

interface Queue {
  /** Waiting envelopes in arrival order; each becomes visible at `at`. */
  items: { envelope: Envelope; at: number }[];
  dead: DeadLetterEntry[];
}

/**
 * A second in-process broker, written against the contract alone: one FIFO list per queue, no
 * priorities and no broadcast channel (it declares both as absent), dead-letter admin included.
 * Leases lapse lazily: every fetch and count first returns lapsed deliveries to their queue.
 */
export class ExampleBroker implements Broker {
  readonly name = 'example';
  readonly capabilities = { priorities: false };
  private readonly queues = new Map<string, Queue>();
  private readonly leases = new Map<string, Lease>();
  private readonly wakers = new Set<() => void>();
  private seq = 0;
  private isClosed = false;

  /** Whether `close()` was called; consumers stop fetching. */
  get closed(): boolean {
    return this.isClosed;
  }

  async publish(envelope: Envelope): Promise<void> {
    this.queue(envelope.queue).items.push({ envelope, at: envelope.notBefore ?? 0 });
    this.wake();
  }

  consume(options: ConsumeOptions): Consumer {
    return new ExampleConsumer(this, options.queues, options.defaultVisibilityTimeout ?? 30_000);
  }

  async ack(delivery: Delivery): Promise<void> {
    this.leases.delete(delivery.receipt);
  }

  async nack(delivery: Delivery, options: NackOptions = {}): Promise<void> {
    if (!this.leases.delete(delivery.receipt)) return;
    if (options.requeue ?? true) await this.publish(options.envelope ?? delivery.envelope);
  }

  async deadLetter(delivery: Delivery, reason: string, meta: Record<string, unknown> = {}): Promise<void> {
    if (!this.leases.delete(delivery.receipt)) return;
    this.queue(delivery.envelope.queue).dead.push({ envelope: delivery.envelope, reason, meta, deadAt: Date.now() });
  }

  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    this.reclaim();
    if (!this.leases.has(delivery.receipt)) throw new LeaseLostError(delivery.envelope.id, delivery.envelope.queue);
    delivery.leaseExpiresAt = Date.now() + ms;
  }

  async purge(queue: string): Promise<number> {
    const q = this.queue(queue);
    const removed = q.items.length;
    q.items = [];
    q.dead = [];
    return removed;
  }

  async pendingCount(queue: string): Promise<number> {
    this.reclaim();
    const now = Date.now();
    return this.queue(queue).items.filter((item) => item.at <= now).length;
  }

  async inflightCount(queue: string): Promise<number> {
    this.reclaim();
    return [...this.leases.values()].filter((lease) => lease.queue === queue).length;
  }

  async listDeadLetters(queue: string, options: { limit?: number; offset?: number } = {}): Promise<DeadLetterPage> {
    const offset = options.offset ?? 0;
    const all = [...this.queue(queue).dead].reverse();
    const items = all.slice(offset, offset + (options.limit ?? 50));
    return { items, ...(offset + items.length < all.length ? { nextOffset: offset + items.length } : {}) };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetterEntry | null> {
    return this.queue(queue).dead.find((entry) => entry.envelope.id === id) ?? null;
  }

  async replayDeadLetters(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const q = this.queue(queue);
    const entries = q.dead.filter(deadLetterMatcher(options)).slice(0, options.limit ?? 50);
    if (options.dryRun) return { entries, dryRun: true };
    q.dead = q.dead.filter((entry) => !entries.includes(entry));
    for (const { envelope } of entries) {
      const replayed: Envelope = { ...envelope, attempt: envelope.attempt + 1, notBefore: options.delay ? Date.now() + options.delay : undefined };
      await this.publish(options.transform ? options.transform(replayed) : replayed);
    }
    return { entries, dryRun: false };
  }

  async purgeDeadLetters(queue: string, options: PurgeDeadLettersOptions = {}): Promise<number> {
    const q = this.queue(queue);
    const doomed = q.dead.filter(deadLetterMatcher(options)).slice(0, options.limit ?? Infinity);
    q.dead = q.dead.filter((entry) => !doomed.includes(entry));
    return doomed.length;
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.wake();
  }

  /** Leases up to `max` visible envelopes of `queues`, oldest first. */
  take(queues: readonly string[], max: number, lease: number): Delivery[] {
    this.reclaim();
    const now = Date.now();
    const out: Delivery[] = [];
    for (const name of queues) {
      const q = this.queue(name);
      for (let i = 0; i < q.items.length && out.length < max;) {
        const item = q.items[i]!;
        if (item.at > now) {
          i++;
          continue;
        }
        q.items.splice(i, 1);
        const delivery: Delivery = { envelope: item.envelope, receipt: `${item.envelope.id}#${++this.seq}`, leaseExpiresAt: now + (item.envelope.visibilityTimeout ?? lease) };
        this.leases.set(delivery.receipt, { delivery, queue: name });
        out.push(delivery);
      }
    }
    return out;
  }

  /** Ms until something of `queues` may become visible (a delay ends or a lease lapses). */
  nextChange(queues: readonly string[]): number {
    const now = Date.now();
    let next = Infinity;
    for (const name of queues) for (const item of this.queue(name).items) next = Math.min(next, item.at - now);
    for (const lease of this.leases.values()) if (queues.includes(lease.queue)) next = Math.min(next, lease.delivery.leaseExpiresAt - now);
    return Math.max(1, next);
  }

  /** Calls `waker` on the next publish; returns the function that cancels it. */
  onPublish(waker: () => void): () => void {
    this.wakers.add(waker);
    return () => this.wakers.delete(waker);
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }

  private reclaim(): void {
    const now = Date.now();
    for (const [receipt, lease] of this.leases) {
      if (lease.delivery.leaseExpiresAt > now) continue;
      this.leases.delete(receipt);
      this.queue(lease.queue).items.unshift({ envelope: lease.delivery.envelope, at: 0 });
    }
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = { items: [], dead: [] }));
    return q;
  }
}

class ExampleConsumer implements Consumer {
  private readonly closed = new AbortController();

  constructor(
    private readonly broker: ExampleBroker,
    private readonly queues: readonly string[],
    private readonly lease: number,
  ) {}

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    while (!signal.aborted && !this.closed.signal.aborted && !this.broker.closed && max > 0) {
      const got = this.broker.take(this.queues, max, this.lease);
      if (got.length > 0) return got;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          cancel();
          signal.removeEventListener('abort', done);
          this.closed.signal.removeEventListener('abort', done);
          resolve();
        };
        const wait = this.broker.nextChange(this.queues);
        const timer = setTimeout(done, Number.isFinite(wait) ? wait : 2_147_483_647);
        const cancel = this.broker.onPublish(done);
        signal.addEventListener('abort', done, { once: true });
        this.closed.signal.addEventListener('abort', done, { once: true });
      });
    }
    return [];
  }

  async close(): Promise<void> {
    this.closed.abort();
  }
}
