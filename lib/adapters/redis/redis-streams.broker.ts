import type {
  BroadcastListener,
  BroadcastSubscription,
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
import type { BrokerIntrospection, QueueStats } from '../../core/contracts/introspection.js';
import type { QueuedPublish, QueuedPublishBroker } from '../../core/contracts/queued-publish.js';
import type { StatusAck, StatusAckBroker } from '../../core/contracts/status-ack.js';
import type { ResultBackend } from '../../core/contracts/result-backend.js';
import type { Envelope } from '../../core/envelope.js';
import { LeaseLostError } from '../../core/errors/lease-lost.error.js';
import { MALFORMED_ENVELOPE_REASON, malformedDeadLetterMeta } from '../../core/envelope-validator.js';
import { DEFAULT_DEAD_LETTER_RETENTION_MS, RedisDeadLetters } from './redis-dead-letters.js';
import { Batcher } from './redis.batcher.js';
import { encodeEnvelope, leaseField, malformedEnvelope, type ParsedReceipt, parseReceipt, priorityOf, queueScriptKeys } from './redis-envelope.codec.js';
import { RedisStreamsConsumer } from './redis-streams.consumer.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { CONSUMER_GROUP, type QueueKeys, RedisKeys } from './redis.keys.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { resolveRedisUrl } from './redis.url.js';
import { scripts } from './scripts/index.js';
import { QueuedPublisher } from './redis.queued-publisher.js';
import { statusTargetOf } from './redis.status-write.js';

/** Options of {@link RedisStreamsBroker.connect}. */
export interface RedisStreamsBrokerOptions extends RedisConnectionOptions {
  /** Lease length for envelopes without `visibilityTimeout`. @default 30000 */
  readonly defaultVisibilityTimeout?: number;
  /**
   * Longest time an idle consumer blocks before it re-checks for lapsed leases of other
   * consumers, in ms (also capped at half the lease). Due delayed envelopes wake it on time.
   * @default 5000
   */
  readonly blockTime?: number;
  /** Delayed envelopes promoted and lapsed leases reclaimed per fetch. @default 128 */
  readonly batchSize?: number;
  /** Called with errors of background work (a consumer losing its connection, ...). */
  readonly onError?: (error: unknown) => void;
  /** Dead letters older than this many ms are deleted (`Infinity` keeps them). @default 604800000 (7 days) */
  readonly deadLetterRetention?: number;
  /** How often the broker sweeps old dead letters of the queues it consumed or dead-lettered into, ms. @default 3600000 (1 hour) */
  readonly deadLetterSweepInterval?: number;
}

/**
 * A {@link Broker} on Redis Streams (Redis ≥ 6.2; `redis://`, `rediss://`, standalone or cluster).
 *
 * - One stream per priority 0–9 per queue, one consumer group; consumers read the highest first.
 * - Each delivery is leased: the fetch script records `<priority>:<entry id>` with its deadline in a
 *   leases ZSET in the same atomic step as the read. `extendLease` moves that deadline (the same
 *   delivery continues); a lapsed lease is reclaimed by the next fetch of any consumer, which
 *   re-adds the entry as a new stream entry, so the old receipt turns stale.
 * - Envelopes with a future `notBefore` wait in a delayed ZSET; fetches move due ones to their
 *   streams atomically, so two racing workers never publish one twice.
 * - Idle consumers block on XREAD on a dedicated connection; nothing polls.
 * - All keys of a queue share the hash tag `{queue}` (`stem:{emails}:stream:p0`, ...).
 * - Broadcasts use pub/sub: every subscriber connected at the time receives each message.
 *
 * @example
 * const broker = await RedisStreamsBroker.connect('redis://127.0.0.1:6379');
 * await broker.publish(envelope);
 * const consumer = broker.consume({ queues: ['default'], consumerName: 'worker-1' });
 * const deliveries = await consumer.fetch(10, AbortSignal.timeout(5_000));
 */
export class RedisStreamsBroker implements QueuedPublishBroker, StatusAckBroker, BrokerIntrospection {
  readonly name = 'redis';
  private readonly keys: RedisKeys;
  private readonly deadLetters: RedisDeadLetters;
  private readonly subscriber: RedisSubscriber;
  private readonly consumers = new Set<RedisStreamsConsumer>();
  private readonly defaultVisibilityTimeout: number;
  private readonly acks: Batcher<ParsedReceipt>;
  private closing: Promise<void> | undefined;
  private readonly knownQueues = new Set<string>();
  /** Queues this process added to the queue names SET (see `nameQueues`). */
  private readonly namedQueues = new Set<string>();
  private readonly sweeper: ReturnType<typeof setInterval> | undefined;

  /** The command connection (auto-pipelined, shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    private readonly options: RedisStreamsBrokerOptions,
  ) {
    const connection = (this.connection = shared.connection);
    this.keys = new RedisKeys(options.prefix ?? 'stem');
    this.deadLetters = new RedisDeadLetters(connection, this.keys, options.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION_MS);
    if (Number.isFinite(this.deadLetters.retention)) {
      this.sweeper = setInterval(() => void this.sweepDeadLetters().catch((error: unknown) => this.options.onError?.(error)), options.deadLetterSweepInterval ?? 3_600_000);
      this.sweeper.unref();
    }
    this.subscriber = new RedisSubscriber(() => connection.duplicate({ enableAutoPipelining: false }));
    this.defaultVisibilityTimeout = options.defaultVisibilityTimeout ?? 30_000;
    this.acks = new Batcher((receipts) => this.ackMany(receipts));
  }

  /**
   * Connects to Redis and returns a broker.
   * @param url `redis://[user:pass@]host:port[/db][?prefix=app1]` or `rediss://...` for TLS
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisStreamsBrokerOptions = {}): Promise<RedisStreamsBroker> {
    const target = resolveRedisUrl(url, options);
    return new RedisStreamsBroker(await Connection.share(target.url, target.options), target.options);
  }

  async publish(envelope: Envelope): Promise<void> {
    this.assertOpen();
    const keys = this.keys.queue(envelope.queue);
    if (!this.namedQueues.has(envelope.queue)) void this.nameQueues([envelope.queue]);
    const priority = priorityOf(envelope);
    const body = encodeEnvelope(envelope);
    if (envelope.notBefore !== undefined && envelope.notBefore > Date.now()) {
      await scripts.publishDelayed.run(this.connection, queueScriptKeys(keys), [priority, leaseField(envelope), body, envelope.notBefore]);
      return;
    }
    await this.connection.command('xadd', keys.streams[priority]!, '*', 'e', body, 'v', leaseField(envelope));
  }

  /** Publishes many envelopes with one script call per queue. */
  async publishBatch(envelopes: readonly Envelope[]): Promise<void> {
    this.assertOpen();
    const byQueue = new Map<string, (string | number)[]>();
    for (const envelope of envelopes) {
      let args = byQueue.get(envelope.queue);
      if (!args) {
        this.keys.queue(envelope.queue);
        byQueue.set(envelope.queue, (args = []));
      }
      args.push(priorityOf(envelope), leaseField(envelope), encodeEnvelope(envelope), envelope.notBefore ?? 0);
    }
    void this.nameQueues([...byQueue.keys()]);
    await Promise.all(
      [...byQueue].map(async ([queue, args]) => {
        // NOTE: chunks keep each script call short, so other clients are not held up.
        for (let i = 0; i < args.length; i += 2_000) {
          await scripts.publishMany.run(this.connection, queueScriptKeys(this.keys.queue(queue)), args.slice(i, i + 2_000));
        }
      }),
    );
  }

  /**
   * Publishes with the `queued` status written in the same script, for a {@link RedisResultBackend}
   * on this broker's own (shared) connection to a standalone server; `undefined` otherwise (a
   * cluster keeps statuses and queues in different slots).
   */
  queuedPublisher(backend: ResultBackend): QueuedPublish | undefined {
    const target = statusTargetOf(backend);
    if (!target || target.connection !== this.connection || this.connection.isCluster) return undefined;
    return new QueuedPublisher({ ...target, publishBatch: (envelopes) => this.publishBatch(envelopes) }, this.keys, () => this.assertOpen());
  }

  /**
   * Acks with the terminal status written in the same script (the backend's status batch), for a
   * {@link RedisResultBackend} on this broker's own (shared) connection to a standalone server;
   * `undefined` otherwise.
   */
  statusAcker(backend: ResultBackend): StatusAck | undefined {
    const target = statusTargetOf(backend);
    if (!target || target.connection !== this.connection || this.connection.isCluster) return undefined;
    return {
      ackWithStatus: async (delivery, update, options = {}) => {
        this.assertOpen();
        const receipt = parseReceipt(delivery.receipt);
        // NOTE: a receipt this broker did not make acks nothing, as `ack` does; the status is still written.
        if (!receipt) return await target.set(delivery.envelope.id, update, options);
        const keys = this.keys.queue(receipt.queue);
        const ack = { stream: keys.streams[receipt.priority]!, leases: keys.leases, member: receipt.member, ackAlone: () => this.ack(delivery) };
        await target.setAndAck(delivery.envelope.id, update, options, ack);
      },
    };
  }

  consume(options: ConsumeOptions): Consumer {
    this.assertOpen();
    const queues = [...new Set(options.queues)].map((q) => this.keys.queue(q));
    for (const q of queues) this.knownQueues.add(q.queue);
    void this.nameQueues(queues.map((q) => q.queue));
    const consumer = new RedisStreamsConsumer(
      {
        connection: this.connection,
        openBlocking: () => this.connection.duplicate({ enableAutoPipelining: false }),
        deadLetterMalformed: (keys, priority, entryId, body, error) => this.deadLetterMalformed(keys, priority, entryId, body, error),
        release: (deliveries) => Promise.all(deliveries.map((d) => this.nack(d, { requeue: true }))).then(() => undefined),
        reportError: (error) => this.options.onError?.(error),
      },
      {
        consumerName: options.consumerName,
        defaultVisibilityTimeout: options.defaultVisibilityTimeout ?? this.defaultVisibilityTimeout,
        blockTime: this.options.blockTime ?? 5_000,
        batchSize: this.options.batchSize ?? 128,
        wakeGroups: this.connection.isCluster ? queues.map((q) => [q]) : [queues],
      },
    );
    this.consumers.add(consumer);
    const close = consumer.close.bind(consumer);
    consumer.close = async () => {
      this.consumers.delete(consumer);
      await close();
    };
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    const receipt = parseReceipt(delivery.receipt);
    if (receipt) await this.acks.add(receipt);
  }

  async nack(delivery: Delivery, options: NackOptions = {}): Promise<void> {
    const receipt = parseReceipt(delivery.receipt);
    if (!receipt) return;
    const keys = this.keys.queue(receipt.queue);
    const requeue = options.requeue ?? true;
    const replacement = options.envelope ?? delivery.envelope;
    await scripts.nack.run(this.connection, queueScriptKeys(keys), [
      CONSUMER_GROUP,
      receipt.priority,
      receipt.entryId,
      requeue ? '1' : '0',
      priorityOf(replacement),
      leaseField(replacement),
      requeue ? encodeEnvelope(replacement) : '',
      replacement.notBefore ?? 0,
    ]);
  }

  async deadLetter(delivery: Delivery, reason: string, meta: Record<string, unknown> = {}): Promise<void> {
    const receipt = parseReceipt(delivery.receipt);
    if (!receipt) return;
    this.knownQueues.add(receipt.queue);
    const entry: DeadLetterEntry = { envelope: delivery.envelope, reason, meta, deadAt: Date.now() };
    await this.deadLetters.write(this.keys.queue(receipt.queue), receipt.priority, receipt.entryId, CONSUMER_GROUP, entry);
  }

  /**
   * Deletes dead letters older than `deadLetterRetention` from `queues` (by default every queue
   * this broker consumed or dead-lettered into); the broker also does this every
   * `deadLetterSweepInterval`. Returns how many were deleted.
   */
  async sweepDeadLetters(queues: readonly string[] = [...this.knownQueues]): Promise<number> {
    let total = 0;
    for (const queue of queues) total += await this.deadLetters.sweep(queue);
    return total;
  }

  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    const receipt = parseReceipt(delivery.receipt);
    const queue = receipt?.queue ?? delivery.envelope.queue;
    if (!receipt) throw new LeaseLostError(delivery.envelope.id, queue);
    const keys = this.keys.queue(queue);
    const deadline = Number(await scripts.extendLease.run(this.connection, [keys.leases], [receipt.member, Math.max(1, Math.ceil(ms))]));
    if (deadline < 0) throw new LeaseLostError(delivery.envelope.id, queue);
    delivery.leaseExpiresAt = deadline;
  }

  async purge(queue: string): Promise<number> {
    return Number(await scripts.purgeQueue.run(this.connection, queueScriptKeys(this.keys.queue(queue)), [CONSUMER_GROUP]));
  }

  /** Every queue a broker on this prefix published to or consumed (a SET), by name. */
  async listQueues(): Promise<string[]> {
    return (await this.connection.command<string[]>('smembers', this.keys.queueNames)).sort();
  }

  /** Every count of the queue in one script call (`queue-stats`): stream lengths less leases, the delayed ZSET, leases, dead letters. */
  async queueStats(queue: string): Promise<QueueStats> {
    const [pending, delayed, inflight, dead, oldest] = await scripts.queueStats.run<number[]>(this.connection, queueScriptKeys(this.keys.queue(queue)), [CONSUMER_GROUP]);
    return {
      queue,
      pending: Number(pending),
      delayed: Number(delayed),
      inflight: Number(inflight),
      deadLetters: Number(dead),
      oldestReadyAt: Number(oldest) < 0 ? null : Number(oldest),
    };
  }

  async pendingCount(queue: string): Promise<number> {
    return (await this.counts(queue)).ready;
  }

  async inflightCount(queue: string): Promise<number> {
    return (await this.counts(queue)).inflight;
  }

  /** Ready, leased and delayed envelopes of a queue, read in one atomic step. */
  async counts(queue: string): Promise<{ ready: number; inflight: number; delayed: number }> {
    const [ready, inflight, delayed] = await scripts.queueCounts.run<number[]>(this.connection, queueScriptKeys(this.keys.queue(queue)), [CONSUMER_GROUP]);
    return { ready: Number(ready), inflight: Number(inflight), delayed: Number(delayed) };
  }

  listDeadLetters(queue: string, options?: { limit?: number; offset?: number }): Promise<DeadLetterPage> {
    return this.deadLetters.list(queue, options);
  }

  getDeadLetter(queue: string, id: string): Promise<DeadLetterEntry | null> {
    return this.deadLetters.get(queue, id);
  }

  replayDeadLetters(queue: string, options?: ReplayOptions): Promise<ReplayResult> {
    return this.deadLetters.replay(queue, options);
  }

  purgeDeadLetters(queue: string, options?: PurgeDeadLettersOptions): Promise<number> {
    return this.deadLetters.purge(queue, options);
  }

  async broadcast(channel: string, payload: unknown): Promise<void> {
    this.assertOpen();
    await this.connection.command('publish', this.keys.broadcast(channel), JSON.stringify({ payload, publishedAt: Date.now() }));
  }

  async subscribeBroadcast(channel: string, listener: BroadcastListener): Promise<BroadcastSubscription> {
    this.assertOpen();
    const unsubscribe = await this.subscriber.subscribe(this.keys.broadcast(channel), (text) => {
      let message: { payload?: unknown; publishedAt?: number };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        return;
      }
      listener({ channel, payload: message.payload, publishedAt: Number(message.publishedAt ?? 0) });
    });
    return { close: unsubscribe };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      const steps = [...[...this.consumers].map((c) => () => c.close()), () => this.subscriber.close(), () => this.shared.release()];
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          this.options.onError?.(error);
        }
      }
    })();
    return this.closing;
  }

  /** Acks gathered in one event-loop turn: one script call per queue. */
  private async ackMany(receipts: readonly ParsedReceipt[]): Promise<void[]> {
    const byQueue = new Map<string, (string | number)[]>();
    for (const r of receipts) {
      let args = byQueue.get(r.queue);
      if (!args) byQueue.set(r.queue, (args = [CONSUMER_GROUP]));
      args.push(r.member);
    }
    await Promise.all([...byQueue].map(([queue, args]) => scripts.ackMany.run(this.connection, queueScriptKeys(this.keys.queue(queue)), args)));
    return [];
  }

  private async deadLetterMalformed(keys: QueueKeys, priority: number, entryId: string, body: string, details: string): Promise<void> {
    this.knownQueues.add(keys.queue);
    const envelope = malformedEnvelope(body, keys.queue, priority, entryId);
    const meta = malformedDeadLetterMeta(details, body.slice(0, /[\uD800-\uDBFF]/.test(body[65_535] ?? '') ? 65_535 : 65_536));
    const entry: DeadLetterEntry = { envelope, reason: MALFORMED_ENVELOPE_REASON, meta, deadAt: Date.now() };
    await this.deadLetters.write(keys, priority, entryId, CONSUMER_GROUP, entry);
  }

  /**
   * Adds queues to the queue names SET once per process, sent alongside the publish that needs
   * it (auto-pipelined: no extra round trip); a failed write is tried again at the next publish.
   */
  private async nameQueues(queues: readonly string[]): Promise<void> {
    const fresh = queues.filter((q) => !this.namedQueues.has(q));
    if (fresh.length === 0) return;
    for (const q of fresh) this.namedQueues.add(q);
    try {
      await this.connection.command('sadd', this.keys.queueNames, ...fresh);
    } catch {
      for (const q of fresh) this.namedQueues.delete(q);
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('RedisStreamsBroker is closed');
  }
}
