import type pg from 'pg';
import type {
  BroadcastListener,
  BroadcastMessage,
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
import type { ResultBackend } from '../../core/contracts/result-backend.js';
import type { StatusAck, StatusAckBroker } from '../../core/contracts/status-ack.js';
import type { Envelope } from '../../core/envelope.js';
import { LeaseLostError } from '../../core/errors/lease-lost.error.js';
import { StemError } from '../../core/errors/stem.error.js';
import { MicroBatcher } from './postgres.batcher.js';
import { isNotSentError, openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import { type ConsumerHost, PostgresConsumer } from './postgres.consumer.js';
import { DEFAULT_DEAD_LETTER_RETENTION_MS, PostgresDeadLetters } from './postgres.dead-letters.js';
import { clampPriority, jobInsertParams } from './postgres.envelope-codec.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { decodeReceipt, type PostgresReceipt } from './postgres.receipt.js';
import { PostgresQueuedPublisher } from './postgres.queued-publisher.js';
import { PostgresQueueRegistry } from './postgres.queue-registry.js';
import { prepared } from './postgres.statements.js';
import { PostgresStatusAcker } from './postgres.status-ack.js';
import { statusTargetOf } from './postgres.status-target.js';
import * as sql from './sql/jobs.sql.js';

/** Options of {@link PostgresBroker.connect}. */
export interface PostgresBrokerOptions extends PostgresConnectOptions {
  /** Lease length for envelopes without `visibilityTimeout`, ms. @default 30000 */
  readonly defaultVisibilityTimeout?: number;
  /**
   * Longest an idle consumer waits without a NOTIFY before looking again (a safety net for lost
   * notifications; wake-ups normally come from LISTEN/NOTIFY and due-time timers), ms.
   * @default 1500
   */
  readonly pollInterval?: number;
  /** Dead letters older than this many ms are deleted (`Infinity` keeps them). @default 604800000 (7 days) */
  readonly deadLetterRetention?: number;
  /** How often the broker sweeps old dead letters, ms. @default 3600000 (1 hour) */
  readonly deadLetterSweepInterval?: number;
}

/** Largest NOTIFY payload Postgres accepts is 8000 bytes; keep room for the envelope. */
const MAX_BROADCAST_BYTES = 7_900;
const PUBLISH_BATCH = 500;
const ACK_BATCH = 1_000;

/**
 * A {@link Broker} on Postgres. Jobs are rows claimed in batches with `FOR UPDATE SKIP LOCKED`
 * (priority first, then FIFO by due time); consumers wake on `LISTEN/NOTIFY`, on timers for
 * delayed rows and lapsing leases, and on a slow safety poll. A lease is a deadline on the row
 * plus a token in the receipt, so `extendLease` extends the same delivery and a stale receipt can
 * neither extend (it throws {@link LeaseLostError}) nor ack (a no-op). Publishes and acks made
 * concurrently are sent as one statement each.
 *
 * @example
 * const broker = await PostgresBroker.connect('postgres://app@db/app', { schema: 'stem' });
 * const stem = new Stem({ broker, backend, registry });
 */
export class PostgresBroker implements QueuedPublishBroker, StatusAckBroker, BrokerIntrospection {
  readonly name = 'postgres';
  private readonly deadLetters: PostgresDeadLetters;
  private readonly consumers = new Set<PostgresConsumer>();
  private readonly publisher: MicroBatcher<Envelope>;
  private readonly acker: MicroBatcher<PostgresReceipt>;
  private readonly statements: {
    insert: (values: unknown[]) => pg.QueryConfig;
    ack: (values: unknown[]) => pg.QueryConfig;
    extend: (values: unknown[]) => pg.QueryConfig;
    requeue: (values: unknown[]) => pg.QueryConfig;
  };
  private readonly host: ConsumerHost;
  private unlistenJobs: (() => void) | undefined;
  private readonly removeReconnectHook: () => void;
  private closing: Promise<void> | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly queues: PostgresQueueRegistry;

  private constructor(
    private readonly ctx: PostgresContext,
    private readonly defaultVisibilityTimeout: number,
    private readonly pollInterval: number,
    retention: { readonly deadLetterRetention?: number; readonly deadLetterSweepInterval?: number } = {},
  ) {
    const { s, channels } = ctx;
    this.queues = new PostgresQueueRegistry(ctx);
    this.statements = {
      insert: prepared(sql.insertJobs(s, channels.jobs)),
      ack: prepared(sql.ackJobs(s)),
      extend: prepared(sql.extendLease(s)),
      requeue: prepared(sql.requeueJob(s, channels.jobs)),
    };
    this.deadLetters = new PostgresDeadLetters(ctx, (client, envelopes) => this.publishWith(client, envelopes), retention.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION_MS);
    if (Number.isFinite(this.deadLetters.retention)) {
      this.sweeper = setInterval(
        () => void this.deadLetters.sweep().catch((error: unknown) => ctx.logger.warn('Could not sweep old dead letters; retrying at the next interval', error)),
        retention.deadLetterSweepInterval ?? 3_600_000,
      );
      this.sweeper.unref();
    }
    this.publisher = new MicroBatcher((envelopes) => retryTransient(() => this.insert(ctx.pool, envelopes), 10_000, isNotSentError), {
      maxBatch: PUBLISH_BATCH,
      maxConcurrent: 2,
    });
    this.acker = new MicroBatcher(
      (receipts) =>
        retryTransient(async () => {
          await ctx.pool.query(this.statements.ack([receipts.map((r) => r.id), receipts.map((r) => r.lease)]));
        }),
      { maxBatch: ACK_BATCH, maxConcurrent: 2 },
    );
    this.host = {
      ctx,
      deadLetter: (delivery, reason, meta) => this.deadLetter(delivery, reason, meta),
      release: async (deliveries) => {
        for (const delivery of deliveries) await this.nack(delivery, { requeue: true });
      },
      detach: (consumer) => this.consumers.delete(consumer),
    };
    this.removeReconnectHook = ctx.notifier.onReconnect(() => {
      for (const consumer of this.consumers) consumer.wake();
    });
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first.
   *
   * @throws PostgresConnectionError when the server cannot be reached
   * @throws PostgresMigrationError when the schema cannot be created or upgraded
   */
  static async connect(target: PostgresTarget, options: PostgresBrokerOptions = {}): Promise<PostgresBroker> {
    const ctx = await openPostgres(target, options);
    const broker = new PostgresBroker(ctx, options.defaultVisibilityTimeout ?? 30_000, options.pollInterval ?? 1_500, options);
    try {
      broker.unlistenJobs = await ctx.notifier.listen(ctx.channels.jobs, (queue) => {
        for (const consumer of broker.consumers) consumer.notify(queue);
      });
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  /** The pool this broker uses; handy for {@link withTransaction} and {@link PostgresBroker.publishWith}. */
  get pool(): pg.Pool {
    return this.ctx.pool;
  }

  /** The schema holding the tables. */
  get schema(): string {
    return this.ctx.schema;
  }

  async publish(envelope: Envelope): Promise<void> {
    this.assertOpen();
    await this.publisher.add(envelope);
  }

  /** Publishes many envelopes in one statement per 500 (one NOTIFY per queue). */
  async publishBatch(envelopes: readonly Envelope[]): Promise<void> {
    this.assertOpen();
    for (let i = 0; i < envelopes.length; i += PUBLISH_BATCH) await this.insert(this.ctx.pool, envelopes.slice(i, i + PUBLISH_BATCH));
  }

  /**
   * Publishes inside the caller's transaction on `client`: the jobs (and their NOTIFY) become
   * visible only when that transaction commits, and vanish if it rolls back.
   *
   * @example
   * await withTransaction(broker.pool, async (client) => {
   *   await client.query('UPDATE accounts SET plan = $1 WHERE id = $2', ['pro', id]);
   *   await broker.publishWith(client, envelope);
   * });
   */
  async publishWith(client: pg.ClientBase, envelopes: Envelope | readonly Envelope[]): Promise<void> {
    const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
    for (let i = 0; i < list.length; i += PUBLISH_BATCH) await this.insert(client, list.slice(i, i + PUBLISH_BATCH));
  }

  /**
   * Publishes with the `queued` statuses written in the same statement, for a
   * {@link PostgresResultBackend} on this broker's own pool; `undefined` otherwise.
   */
  queuedPublisher(backend: ResultBackend): QueuedPublish | undefined {
    const target = statusTargetOf(backend);
    if (!target || target.ctx.pool !== this.ctx.pool) return undefined;
    return new PostgresQueuedPublisher(this.ctx, target, () => this.assertOpen());
  }

  /**
   * Acks with the terminal status written in the same statement (the backend's status batch), for
   * a {@link PostgresResultBackend} on this broker's own pool; `undefined` otherwise.
   */
  statusAcker(backend: ResultBackend): StatusAck | undefined {
    const target = statusTargetOf(backend);
    if (!target || target.ctx.pool !== this.ctx.pool) return undefined;
    return new PostgresStatusAcker(this.ctx.s, target, () => this.assertOpen());
  }

  consume(options: ConsumeOptions): Consumer {
    this.assertOpen();
    if (options.queues.length === 0) throw new StemError('STEM_CONFIG', 'consume() needs at least one queue');
    void this.queues.record(options.queues);
    const consumer = new PostgresConsumer(this.host, {
      queues: [...new Set(options.queues)],
      consumerName: options.consumerName,
      lease: options.defaultVisibilityTimeout ?? this.defaultVisibilityTimeout,
      pollInterval: this.pollInterval,
    });
    this.consumers.add(consumer);
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    const receipt = decodeReceipt(delivery.receipt);
    if (receipt) await this.acker.add(receipt);
  }

  async nack(delivery: Delivery, options: NackOptions = {}): Promise<void> {
    const receipt = decodeReceipt(delivery.receipt);
    if (!receipt) return;
    if (!(options.requeue ?? true)) return this.acker.add(receipt);
    const env = options.envelope ?? delivery.envelope;
    const notBefore = options.envelope ? (env.notBefore ?? null) : null;
    await retryTransient(async () => {
      await this.ctx.pool.query(
        this.statements.requeue([
          receipt.id,
          receipt.lease,
          clampPriority(env.priority),
          env.attempt,
          notBefore,
          env.visibilityTimeout === undefined ? null : Math.round(env.visibilityTimeout),
          JSON.stringify(env),
        ]),
      );
    });
  }

  async deadLetter(delivery: Delivery, reason: string, meta: Record<string, unknown> = {}): Promise<void> {
    const receipt = decodeReceipt(delivery.receipt);
    if (!receipt) return;
    await this.deadLetters.write(receipt, reason, meta, delivery.envelope);
  }

  /**
   * Deletes dead letters (of every queue) older than `deadLetterRetention`; the broker also does
   * this every `deadLetterSweepInterval`. Returns how many were deleted.
   */
  sweepDeadLetters(): Promise<number> {
    return this.deadLetters.sweep();
  }

  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    const receipt = decodeReceipt(delivery.receipt);
    const { rows } = receipt
      ? await retryTransient(() => this.ctx.pool.query<{ locked_until_ms: number }>(this.statements.extend([receipt.id, receipt.lease, Math.max(0, Math.round(ms))])))
      : { rows: [] };
    if (rows.length === 0) throw new LeaseLostError(delivery.envelope.id, delivery.envelope.queue);
    delivery.leaseExpiresAt = Math.round(rows[0]!.locked_until_ms);
  }

  async purge(queue: string): Promise<number> {
    const { rowCount } = await this.ctx.pool.query(sql.purgeJobs(this.ctx.s), [queue]);
    await this.deadLetters.purge(queue);
    return rowCount ?? 0;
  }

  /** Every queue published to (recorded by the insert statements) or consumed, by name. */
  listQueues(): Promise<string[]> {
    return this.queues.list();
  }

  /** Exact counts in one statement over the queue's backlog (`jobs_claim_idx`) and its dead letters. */
  queueStats(queue: string): Promise<QueueStats> {
    return this.queues.stats(queue);
  }

  async pendingCount(queue: string): Promise<number> {
    const { rows } = await this.ctx.pool.query<{ n: number }>(sql.countPending(this.ctx.s), [queue]);
    return rows[0]!.n;
  }

  async inflightCount(queue: string): Promise<number> {
    const { rows } = await this.ctx.pool.query<{ n: number }>(sql.countInflight(this.ctx.s), [queue]);
    return rows[0]!.n;
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

  /**
   * NOTIFYs every subscriber of `channel` in every process.
   * @throws StemError when the encoded message exceeds what one NOTIFY can carry (~7.9 kB)
   */
  async broadcast(channel: string, payload: unknown): Promise<void> {
    const message: BroadcastMessage = { channel, payload, publishedAt: Date.now() };
    const text = JSON.stringify(message);
    if (Buffer.byteLength(text) > MAX_BROADCAST_BYTES) {
      throw new StemError(
        'STEM_BROADCAST_TOO_LARGE',
        `Broadcast on "${channel}" is ${Buffer.byteLength(text)} bytes; Postgres NOTIFY carries at most ${MAX_BROADCAST_BYTES}. Send an id and fetch the data instead.`,
      );
    }
    await this.ctx.pool.query('SELECT pg_notify($1, $2)', [this.ctx.channels.broadcast, text]);
  }

  async subscribeBroadcast(channel: string, listener: BroadcastListener): Promise<BroadcastSubscription> {
    this.assertOpen();
    const stop = await this.ctx.notifier.listen(this.ctx.channels.broadcast, (text) => {
      let message: BroadcastMessage;
      try {
        message = JSON.parse(text) as BroadcastMessage;
      } catch {
        return;
      }
      if (message.channel === channel) listener(message);
    });
    return { close: async () => stop() };
  }

  /** Closes consumers, waits for pending publishes and acks, then releases the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      for (const consumer of [...this.consumers]) await consumer.close();
      this.unlistenJobs?.();
      this.removeReconnectHook();
      await Promise.allSettled([this.publisher.drain(), this.acker.drain()]);
      await this.ctx.release();
    })();
    return this.closing;
  }

  private async insert(client: pg.ClientBase | pg.Pool, envelopes: readonly Envelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    await client.query(this.statements.insert(jobInsertParams(envelopes)));
  }

  private assertOpen(): void {
    if (this.closing) throw new StemError('STEM_CLOSED', 'PostgresBroker is closed');
  }
}
