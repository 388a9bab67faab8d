import type { BrokerIntrospection, QueueStats } from '../../core/contracts/introspection.js';
import type {
  BroadcastListener,
  BroadcastSubscription,
  Broker,
  ConsumeOptions,
  Consumer,
  DeadLetterEntry,
  DeadLetterPage,
  Delivery,
  NackOptions,
  PurgeDeadLettersOptions,
  ReplayOptions,
  ReplayResult,
} from '../../core/contracts/broker.js';
import type { Envelope } from '../../core/envelope.js';
import { ENVELOPE_LIMITS, MALFORMED_ENVELOPE_REASON, malformedDeadLetterMeta, malformedPlaceholder, validateEnvelope } from '../../core/envelope-validator.js';
import { LeaseLostError } from '../../core/errors/lease-lost.error.js';
import { type Clock, systemClock, type TimerHandle } from '../../core/utils/clock.js';
import { MinHeap } from '../../core/utils/min-heap.js';
import { DEFAULT_DEAD_LETTER_RETENTION_MS, InMemoryDeadLetters } from './in-memory.dead-letters.js';
import { InMemoryLeaseTimers } from './in-memory.lease-timers.js';
import { ReadyBucket } from './in-memory.ready-bucket.js';

/** Options of {@link InMemoryBroker}. */
export interface InMemoryBrokerOptions {
  /** Lease length for envelopes without `visibilityTimeout`. @default 30000 */
  readonly defaultVisibilityTimeout?: number;
  /** Time source (use `TestClock` in tests). @default systemClock */
  readonly clock?: Clock;
  /** Dead letters older than this many ms are dropped (`Infinity` keeps them). @default 604800000 (7 days) */
  readonly deadLetterRetention?: number;
}

interface QueueState {
  readonly name: string;
  /** Ready envelopes, one FIFO per priority 0..9. */
  readonly buckets: ReadyBucket[];
  ready: number;
  /** Leased deliveries by receipt. */
  readonly leases: Map<string, Delivery>;
}

interface Waiter {
  readonly queues: readonly string[];
  readonly max: number;
  readonly consumer: InMemoryConsumer;
  readonly resolve: (deliveries: Delivery[]) => void;
}

const PRIORITIES = 10;

/** What `publish` and `ack` return once done. */
const SETTLED: Promise<void> = Promise.resolve();

function clampPriority(priority: number): number {
  if (!Number.isFinite(priority)) return 0;
  return Math.min(PRIORITIES - 1, Math.max(0, Math.trunc(priority)));
}

/** The stored envelope as JSON for a malformed dead letter, so nothing of it is lost (undefined if it cannot be encoded). */
function rawText(envelope: unknown): string | undefined {
  try {
    return JSON.stringify(envelope);
  } catch {
    return undefined;
  }
}

/**
 * A broker that lives in this process: the embedded default (`memory://`). Keeps every semantic of
 * the contract (leases, priorities, delays, dead letters, broadcast), but nothing survives a
 * restart and only this process can reach it.
 *
 * @example
 * const broker = new InMemoryBroker();
 * const stem = new Stem({ broker, backend: new InMemoryResultBackend(), registry });
 */
export class InMemoryBroker implements Broker, BrokerIntrospection {
  readonly name = 'memory';
  private readonly clock: Clock;
  private readonly defaultVisibilityTimeout: number;
  private readonly queues = new Map<string, QueueState>();
  private readonly dead: InMemoryDeadLetters;
  private readonly delayed = new MinHeap<Envelope>();
  private delayedTimer: { at: number; handle: TimerHandle } | undefined;
  private waiters: Waiter[] = [];
  private readonly channels = new Map<string, Set<BroadcastListener>>();
  private receiptSeq = 0;
  private closed = false;
  private readonly leaseTimers: InMemoryLeaseTimers;

  constructor(options: InMemoryBrokerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultVisibilityTimeout = options.defaultVisibilityTimeout ?? 30_000;
    this.dead = new InMemoryDeadLetters(this.clock, options.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION_MS);
    this.leaseTimers = new InMemoryLeaseTimers(this.clock, (delivery) => this.lapse(delivery));
  }

  publish(envelope: Envelope): Promise<void> {
    // NOTE: synchronous, so one settled promise serves every publish and ack (one each per task)
    // instead of an async function's own; whatever throws still rejects.
    try {
      this.assertOpen();
      this.enqueue(envelope);
      return SETTLED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  consume(options: ConsumeOptions): Consumer {
    this.assertOpen();
    return new InMemoryConsumer(this, options.queues, options.defaultVisibilityTimeout ?? this.defaultVisibilityTimeout);
  }

  ack(delivery: Delivery): Promise<void> {
    try {
      this.settle(delivery);
      return SETTLED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async nack(delivery: Delivery, options: NackOptions = {}): Promise<void> {
    if (!this.settle(delivery)) return;
    if (options.requeue ?? true) this.enqueue(options.envelope ?? delivery.envelope);
  }

  async deadLetter(delivery: Delivery, reason: string, meta: Record<string, unknown> = {}): Promise<void> {
    if (!this.settle(delivery)) return;
    this.dead.add(delivery.envelope.queue, { envelope: delivery.envelope, reason, meta, deadAt: this.clock.now() });
  }

  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    const state = this.state(delivery.envelope.queue);
    const leased = state.leases.get(delivery.receipt);
    if (!leased) throw new LeaseLostError(delivery.envelope.id, delivery.envelope.queue);
    this.leaseTimers.remove(delivery.receipt);
    leased.leaseExpiresAt = delivery.leaseExpiresAt = this.clock.now() + ms;
    this.leaseTimers.add(leased, ms);
  }

  async purge(queue: string): Promise<number> {
    const state = this.state(queue);
    let removed = 0;
    for (const bucket of state.buckets) removed += bucket.clear();
    state.ready = 0;
    removed += this.delayed.removeWhere((env) => env.queue === queue);
    this.dead.clear(queue);
    return removed;
  }

  async listQueues(): Promise<string[]> {
    return [...new Set([...this.queues.keys(), ...this.delayed.values().map((e) => e.queue), ...this.dead.queues()])].sort();
  }

  async queueStats(queue: string): Promise<QueueStats> {
    const state = this.queues.get(queue);
    let oldest: number | null = null;
    for (const bucket of state?.buckets ?? []) {
      const at = bucket.oldestReadyAt();
      if (at !== undefined && (oldest === null || at < oldest)) oldest = at;
    }
    return {
      queue,
      pending: state?.ready ?? 0,
      delayed: this.delayed.values().filter((e) => e.queue === queue).length,
      inflight: state?.leases.size ?? 0,
      deadLetters: this.dead.count(queue),
      oldestReadyAt: oldest,
    };
  }

  async pendingCount(queue: string): Promise<number> {
    return this.queues.get(queue)?.ready ?? 0;
  }

  async inflightCount(queue: string): Promise<number> {
    return this.queues.get(queue)?.leases.size ?? 0;
  }

  async listDeadLetters(queue: string, options: { limit?: number; offset?: number } = {}): Promise<DeadLetterPage> {
    return this.dead.list(queue, options);
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetterEntry | null> {
    return this.dead.get(queue, id);
  }

  async replayDeadLetters(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const selected = this.dead.take(queue, options, options.limit ?? 50, options.dryRun ?? false);
    if (options.dryRun) return { entries: selected, dryRun: true };
    const now = this.clock.now();
    for (const entry of selected) {
      const replayed: Envelope = { ...entry.envelope, attempt: entry.envelope.attempt + 1, notBefore: options.delay ? now + options.delay : undefined };
      this.enqueue(options.transform ? options.transform(replayed) : replayed);
    }
    return { entries: selected, dryRun: false };
  }

  async purgeDeadLetters(queue: string, options: PurgeDeadLettersOptions = {}): Promise<number> {
    return this.dead.purge(queue, options);
  }

  async broadcast(channel: string, payload: unknown): Promise<void> {
    const message = { channel, payload, publishedAt: this.clock.now() };
    for (const listener of [...(this.channels.get(channel) ?? [])]) {
      queueMicrotask(() => listener(message));
    }
  }

  async subscribeBroadcast(channel: string, listener: BroadcastListener): Promise<BroadcastSubscription> {
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    const wrapped: BroadcastListener = (message) => listener(message);
    listeners.add(wrapped);
    return { close: async () => void listeners.delete(wrapped) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.delayedTimer?.handle.cancel();
    this.leaseTimers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve([]);
  }

  /** @internal Takes up to `max` ready envelopes across `queues`, highest priority first. */
  take(queues: readonly string[], max: number, lease: number): Delivery[] {
    const out: Delivery[] = [];
    const states = queues.map((q) => this.state(q));
    for (let p = PRIORITIES - 1; p >= 0 && out.length < max; p--) {
      for (const state of states) {
        if (state.ready === 0) continue;
        const bucket = state.buckets[p]!;
        while (bucket.length > 0 && out.length < max) {
          const envelope = bucket.shift()!;
          state.ready--;
          // NOTE: envelopes are objects here, not text, yet the same rules apply as on every broker.
          const checked = validateEnvelope(envelope);
          if (checked.ok) out.push(this.lease(state, checked.envelope, lease));
          else this.deadLetterMalformed(state, envelope, checked.details);
        }
      }
    }
    return out;
  }

  /** @internal Parks a fetch until work arrives. */
  wait(waiter: Waiter): void {
    this.waiters.push(waiter);
  }

  /** @internal */
  unwait(consumer: InMemoryConsumer): void {
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.consumer === consumer) waiter.resolve([]);
      else remaining.push(waiter);
    }
    this.waiters = remaining;
  }

  private lease(state: QueueState, envelope: Envelope, defaultLease: number): Delivery {
    const ms = envelope.visibilityTimeout ?? defaultLease;
    const delivery: Delivery = {
      envelope,
      receipt: `${envelope.id}#${++this.receiptSeq}`,
      leaseExpiresAt: this.clock.now() + ms,
    };
    state.leases.set(delivery.receipt, delivery);
    this.leaseTimers.add(delivery, ms);
    return delivery;
  }

  private deadLetterMalformed(state: QueueState, envelope: unknown, details: string): void {
    const placeholder = malformedPlaceholder(envelope, { id: `malformed:${++this.receiptSeq}`, queue: state.name });
    const meta = malformedDeadLetterMeta(details, rawText(envelope));
    this.dead.add(state.name, { envelope: placeholder, reason: MALFORMED_ENVELOPE_REASON, meta, deadAt: this.clock.now() });
  }

  private lapse(delivery: Delivery): void {
    const state = this.state(delivery.envelope.queue);
    if (!state.leases.delete(delivery.receipt)) return;
    this.makeReady(delivery.envelope);
  }

  /** Removes a delivery's lease; false when it was no longer leased (stale receipt). */
  private settle(delivery: Delivery): boolean {
    const state = this.queues.get(delivery.envelope.queue);
    if (!state?.leases.delete(delivery.receipt)) return false;
    this.leaseTimers.remove(delivery.receipt);
    return true;
  }

  private enqueue(envelope: Envelope): void {
    // NOTE: only a notBefore the validator accepts may delay; any other (Infinity, 1e300, a string)
    // goes straight to the ready list, where the consumer dead-letters it instead of holding it forever.
    const notBefore: unknown = envelope.notBefore;
    if (typeof notBefore === 'number' && notBefore <= ENVELOPE_LIMITS.maxEpochMs && notBefore > this.clock.now()) {
      this.delayed.push(notBefore, envelope);
      this.armDelayedTimer();
    } else {
      this.makeReady(envelope);
    }
  }

  private makeReady(envelope: Envelope): void {
    const state = this.state(envelope.queue);
    state.buckets[clampPriority(envelope.priority)]!.push(envelope, this.clock.now());
    state.ready++;
    this.wake(envelope.queue);
  }

  private wake(queue: string): void {
    if (this.waiters.length === 0) return;
    for (let i = 0; i < this.waiters.length; i++) {
      const waiter = this.waiters[i]!;
      if (!waiter.queues.includes(queue)) continue;
      const deliveries = this.take(waiter.queues, waiter.max, waiter.consumer.defaultLease);
      if (deliveries.length === 0) return;
      this.waiters.splice(i, 1);
      waiter.resolve(deliveries);
      return;
    }
  }

  private armDelayedTimer(): void {
    const at = this.delayed.peekKey();
    if (at === undefined) return;
    if (this.delayedTimer && this.delayedTimer.at <= at) return;
    this.delayedTimer?.handle.cancel();
    const handle = this.clock.setTimeout(() => {
      this.delayedTimer = undefined;
      this.promoteDue();
    }, at - this.clock.now());
    this.delayedTimer = { at, handle };
  }

  private promoteDue(): void {
    const now = this.clock.now();
    while ((this.delayed.peekKey() ?? Infinity) <= now) this.makeReady(this.delayed.pop()!);
    this.armDelayedTimer();
  }

  private state(queue: string): QueueState {
    let state = this.queues.get(queue);
    if (!state) {
      state = { name: queue, buckets: Array.from({ length: PRIORITIES }, () => new ReadyBucket()), ready: 0, leases: new Map() };
      this.queues.set(queue, state);
    }
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('InMemoryBroker is closed');
  }
}

class InMemoryConsumer implements Consumer {
  private closed = false;

  constructor(
    private readonly broker: InMemoryBroker,
    private readonly queues: readonly string[],
    readonly defaultLease: number,
  ) {}

  fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    if (this.closed || signal.aborted || max <= 0) return Promise.resolve([]);
    const ready = this.broker.take(this.queues, max, this.defaultLease);
    if (ready.length > 0) return Promise.resolve(ready);
    return new Promise<Delivery[]>((resolve) => {
      let settled = false;
      const finish = (deliveries: Delivery[]) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(deliveries);
      };
      const onAbort = () => this.broker.unwait(this);
      signal.addEventListener('abort', onAbort, { once: true });
      this.broker.wait({ queues: this.queues, max, consumer: this, resolve: finish });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.broker.unwait(this);
  }
}
