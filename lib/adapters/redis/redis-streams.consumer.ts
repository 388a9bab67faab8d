import type { Consumer, Delivery } from '../../core/contracts/broker.js';
import { ENVELOPE_LIMITS } from '../../core/envelope-validator.js';
import { decodeEnvelope, queueScriptKeys } from './redis-envelope.codec.js';
import type { RedisConnection } from './redis.connection.js';
import { CONSUMER_GROUP, type QueueKeys } from './redis.keys.js';
import { scripts } from './scripts/index.js';

/** What a consumer needs from its broker. */
export interface ConsumerHost {
  readonly connection: RedisConnection;
  /** Opens a dedicated connection for blocking reads. */
  openBlocking(): Promise<RedisConnection>;
  /** Dead-letters an entry that failed validation (reason `malformed-envelope`, with `details`). */
  deadLetterMalformed(keys: QueueKeys, priority: number, entryId: string, body: string, details: string): Promise<void>;
  /** Gives back deliveries fetched for a caller that went away. */
  release(deliveries: readonly Delivery[]): Promise<void>;
  /** Reports a background error (connection trouble while fetching). */
  reportError(error: unknown): void;
}

/** Settings of a {@link RedisStreamsConsumer}. */
export interface RedisConsumerSettings {
  readonly consumerName: string;
  readonly defaultVisibilityTimeout: number;
  /** Longest single block, in ms. */
  readonly blockTime: number;
  /** Delayed envelopes promoted and lapsed leases reclaimed per fetch. */
  readonly batchSize: number;
  /** One wake-up group per slot: all queues together on a standalone server, one per queue on a cluster. */
  readonly wakeGroups: readonly (readonly QueueKeys[])[];
}

interface Idle {
  /** Server time of the check. */
  readonly now: number;
  /** Server time when the next delayed envelope or lease falls due, or -1. */
  readonly nextDue: number;
  /** Key → last entry id to XREAD after. */
  readonly after: Map<string, string>;
}

/** How long the idle parts of a fetch that drained its queues stand in for asking again. */
const DRAINED_FRESH_MS = 1_000;

/** Most deliveries one fetch returns (keeps each script call short). */
const MAX_FETCH = 1_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * A pull subscription over some queues. `fetch` runs the fetch script (promote due, reclaim
 * lapsed, read and lease) and, when nothing is ready, blocks on XREAD over the queue streams and
 * the signal stream on a dedicated connection, from the last ids the script saw, so no write is
 * missed and nothing is polled.
 */
export class RedisStreamsConsumer implements Consumer {
  private closed = false;
  private readonly closing = new AbortController();
  private readonly wakers: { connection?: Promise<RedisConnection>; inflight?: Promise<unknown> }[];
  private readonly queues: readonly QueueKeys[];
  private rotation = 0;
  /** Idle parts of the last fetch, when it drained every queue. */
  private drained: { idle: { group: number; info: Idle }[]; at: number } | undefined;

  constructor(
    private readonly host: ConsumerHost,
    private readonly settings: RedisConsumerSettings,
  ) {
    this.queues = settings.wakeGroups.flat();
    this.wakers = settings.wakeGroups.map(() => ({}));
  }

  async fetch(requested: number, signal: AbortSignal): Promise<Delivery[]> {
    if (signal.aborted || this.closed || requested <= 0) return [];
    const max = Math.min(requested, MAX_FETCH);
    const drained = this.takeDrained();
    // NOTE: the first attempt skips the abort plumbing: under load it returns at once.
    if (!drained) {
      try {
        const first = await this.tryFetch(max);
        if (first.deliveries.length > 0) {
          if (!signal.aborted && !this.closed) return first.deliveries;
          await this.host.release(first.deliveries);
          return [];
        }
      } catch (error) {
        if (signal.aborted || this.closed) return [];
        this.host.reportError(error);
      }
    }
    const cancelled = AbortSignal.any([signal, this.closing.signal]);
    let failures = 0;
    if (drained) await this.wait(drained, cancelled);
    while (!cancelled.aborted) {
      try {
        const { deliveries, idle } = await this.tryFetch(max);
        failures = 0;
        if (deliveries.length > 0) {
          if (!cancelled.aborted) return deliveries;
          await this.host.release(deliveries);
          return [];
        }
        if (idle.length > 0) await this.wait(idle, cancelled);
      } catch (error) {
        if (cancelled.aborted) break;
        this.host.reportError(error);
        await sleep(Math.min(100 * 2 ** failures++, 2_000), cancelled);
      }
    }
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const waker of this.wakers) {
      const connection = await waker.connection?.catch(() => undefined);
      connection?.disconnect();
    }
    await Promise.all(
      this.queues.map((keys) => scripts.releaseConsumer.run(this.host.connection, queueScriptKeys(keys), [CONSUMER_GROUP, this.settings.consumerName]).catch(() => undefined)),
    );
  }

  /** Reads from each queue in turn (rotating the first one) until `max` deliveries are leased. */
  private async tryFetch(max: number): Promise<{ deliveries: Delivery[]; idle: { group: number; info: Idle }[] }> {
    const deliveries: Delivery[] = [];
    const idleByGroup = new Map<number, Idle>();
    let asked = 0;
    const start = this.rotation++ % this.queues.length;
    for (let i = 0; i < this.queues.length && deliveries.length < max; i++) {
      const keys = this.queues[(start + i) % this.queues.length]!;
      let reply: (string | number)[];
      try {
        reply = await scripts.fetch.run<(string | number)[]>(this.host.connection, queueScriptKeys(keys), [
          CONSUMER_GROUP,
          this.settings.consumerName,
          max - deliveries.length,
          this.settings.defaultVisibilityTimeout,
          this.settings.batchSize,
          ENVELOPE_LIMITS.minVisibilityTimeout,
          ENVELOPE_LIMITS.maxDurationMs,
        ]);
      } catch (error) {
        // NOTE: deliveries leased from earlier queues must reach the caller, not wait for their lease to lapse.
        if (deliveries.length === 0) throw error;
        this.host.reportError(error);
        break;
      }
      const count = Number(reply[0]);
      if (count > 0) await this.collect(keys, reply, count, deliveries);
      // NOTE: a reply with fewer entries than asked for ends with the queue's idle part.
      const at = 1 + count * 4;
      if (reply.length <= at) continue;
      asked++;
      const group = this.groupOf(keys);
      const now = Number(reply[at + 1]);
      const info = idleByGroup.get(group) ?? { now, nextDue: -1, after: new Map<string, string>() };
      const due = Number(reply[at]);
      idleByGroup.set(group, {
        now: Math.max(info.now, now),
        nextDue: due >= 0 && (info.nextDue < 0 || due < info.nextDue) ? due : info.nextDue,
        after: info.after,
      });
      keys.streams.forEach((stream, p) => info.after.set(stream, String(reply[at + 2 + p])));
      info.after.set(keys.signal, String(reply[at + 12]));
    }
    const idle = [...idleByGroup].map(([group, info]) => ({ group, info }));
    // NOTE: every queue said it has nothing more ready: the next fetch can block at once.
    if (deliveries.length > 0) this.drained = asked === this.queues.length ? { idle, at: Date.now() } : undefined;
    return { deliveries, idle: deliveries.length > 0 ? [] : idle };
  }

  /**
   * The idle parts of the last fetch when it drained every queue and is recent: the next fetch
   * blocks on them first instead of asking the queues again (anything newer wakes the block).
   */
  private takeDrained(): { group: number; info: Idle }[] | undefined {
    const drained = this.drained;
    this.drained = undefined;
    if (!drained) return undefined;
    const elapsed = Date.now() - drained.at;
    if (elapsed > DRAINED_FRESH_MS) return undefined;
    return drained.idle.map(({ group, info }) => ({ group, info: { ...info, now: info.now + elapsed } }));
  }

  private async collect(keys: QueueKeys, reply: (string | number)[], count: number, out: Delivery[]): Promise<void> {
    const suffix = `@${keys.queue}`;
    for (let i = 0; i < count; i++) {
      const member = String(reply[1 + i * 4]);
      const body = String(reply[2 + i * 4]);
      const deadline = Number(reply[3 + i * 4]);
      const badLease = String(reply[4 + i * 4] ?? '');
      const decoded = decodeEnvelope(body);
      if (decoded.ok && badLease === '') {
        out.push({ envelope: decoded.envelope, receipt: member + suffix, leaseExpiresAt: deadline });
        continue;
      }
      const leaseProblem =
        badLease === '' ? [] : [`lease field "${badLease}" is not a whole number of ms from ${ENVELOPE_LIMITS.minVisibilityTimeout} to ${ENVELOPE_LIMITS.maxDurationMs}`];
      const details = [...leaseProblem, ...(decoded.ok ? [] : [decoded.details])].join('; ');
      try {
        await this.host.deadLetterMalformed(keys, Number(member[0]), member.slice(2), body, details);
      } catch (error) {
        // NOTE: the entry stays leased; when the lease lapses it is read (and dead-lettered) again.
        this.host.reportError(error);
      }
    }
  }

  private groupOf(keys: QueueKeys): number {
    return this.settings.wakeGroups.findIndex((group) => group.includes(keys));
  }

  /** Blocks until a stream or signal gets a new entry, something falls due, or `cancelled`. */
  private async wait(idle: { group: number; info: Idle }[], cancelled: AbortSignal): Promise<void> {
    const cap = Math.min(this.settings.blockTime, Math.max(1, Math.floor(this.settings.defaultVisibilityTimeout / 2)));
    const reads = idle.map(({ group, info }) => {
      const timeout = info.nextDue >= 0 ? Math.min(cap, info.nextDue - info.now) : cap;
      if (timeout <= 0) return Promise.resolve();
      return this.block(group, info.after, timeout);
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = () => resolve();
      if (cancelled.aborted) resolve();
      else cancelled.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([...reads, aborted]);
    } finally {
      cancelled.removeEventListener('abort', onAbort!);
    }
  }

  private block(group: number, after: Map<string, string>, timeout: number): Promise<unknown> {
    const waker = this.wakers[group]!;
    if (waker.inflight) return waker.inflight;
    waker.connection ??= this.host.openBlocking().then((conn) => {
      conn.role = 'blocking';
      return conn;
    });
    const connection = waker.connection;
    const read = (async () => {
      const conn = await connection;
      // NOTE: the BLOCK is capped at the health-check interval, so a reply overdue by more than
      // `deadConnectionTimeout` proves the connection dead (rejects), and it is replaced below.
      const block = Math.max(1, Math.ceil(Math.min(timeout, conn.maxBlock)));
      await conn.blocking(block, 'xread', 'COUNT', 1, 'BLOCK', block, 'STREAMS', ...after.keys(), ...after.values());
    })();
    waker.inflight = read;
    const clear = () => {
      if (waker.inflight === read) waker.inflight = undefined;
    };
    read.then(clear, (error: unknown) => {
      clear();
      if (waker.connection === connection && !this.closed) {
        connection.then(
          (c) => c.disconnect(),
          () => undefined,
        );
        waker.connection = undefined;
      }
      if (!this.closed) this.host.reportError(error);
    });
    // NOTE: after a failed read, wait a little before the caller loops, so a persistent error
    // cannot turn into a busy loop.
    return read.catch(() => new Promise((resolve) => setTimeout(resolve, 250)));
  }
}
