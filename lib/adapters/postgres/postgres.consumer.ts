import type pg from 'pg';
import type { Consumer, Delivery } from '../../core/contracts/broker.js';
import { MALFORMED_ENVELOPE_REASON, malformedDeadLetterMeta } from '../../core/envelope-validator.js';
import { decodeEnvelope, placeholderEnvelope } from './postgres.envelope-codec.js';
import type { PostgresContext } from './postgres.connection.js';
import { encodeReceipt } from './postgres.receipt.js';
import { prepared } from './postgres.statements.js';
import { claimJobs, nextDueIn } from './sql/jobs.sql.js';

/** A claimed row as the claim statements return it. */
export interface ClaimedRow {
  id: string;
  lease: number;
  task_id: string;
  queue: string;
  priority: number;
  attempt: number;
  envelope: string;
  locked_until_ms: number;
  created_ms: number;
  run_at_ms: number;
}

/** What a consumer needs from its broker. */
export interface ConsumerHost {
  readonly ctx: PostgresContext;
  /** Dead-letters an undecodable row (reason `malformed-envelope`). */
  deadLetter(delivery: Delivery, reason: string, meta: Record<string, unknown>): Promise<void>;
  /** Gives deliveries back at once (used when a fetch was aborted while claiming). */
  release(deliveries: readonly Delivery[]): Promise<void>;
  /** Forgets a closed consumer. */
  detach(consumer: PostgresConsumer): void;
}

/** Settings of one {@link PostgresConsumer}. */
export interface PostgresConsumerSettings {
  readonly queues: readonly string[];
  readonly consumerName: string;
  /** Lease for envelopes without `visibilityTimeout`, ms. */
  readonly lease: number;
  /** Longest idle wait before re-checking without a notification, ms. */
  readonly pollInterval: number;
}

const MAX_ERROR_BACKOFF_MS = 2_000;
/** Timer slack so a delayed row is due by the time the claim runs. */
const DUE_SLACK_MS = 2;

/**
 * A pull subscription on Postgres. `fetch` claims a batch with `FOR UPDATE SKIP LOCKED`; when
 * nothing is claimable it sleeps until a NOTIFY for one of its queues, the next delayed row or
 * lapsing lease falls due, or the safety poll interval passes. Connection failures are retried
 * with backoff, so the consumer outlives `pg_terminate_backend` and server restarts.
 */
export class PostgresConsumer implements Consumer {
  private readonly queueSet: ReadonlySet<string>;
  private readonly claimQuery: (values: unknown[]) => pg.QueryConfig;
  private readonly dueQuery: (values: unknown[]) => pg.QueryConfig;
  private generation = 0;
  private readonly wakers = new Set<() => void>();
  private closed = false;
  private failing = false;

  constructor(
    private readonly host: ConsumerHost,
    private readonly settings: PostgresConsumerSettings,
  ) {
    this.queueSet = new Set(settings.queues);
    const { s } = host.ctx;
    this.claimQuery = prepared(claimJobs(s));
    this.dueQuery = prepared(nextDueIn(s));
  }

  /** @internal Called for every NOTIFY on the jobs channel. */
  notify(queue: string): void {
    if (this.queueSet.has(queue)) this.wake();
  }

  /** @internal Wakes idle fetches so they look again (after a reconnect, for example). */
  wake(): void {
    this.generation++;
    for (const waker of [...this.wakers]) waker();
  }

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    let backoff = 50;
    while (!this.closed && !signal.aborted && max > 0) {
      const generation = this.generation;
      let deliveries: Delivery[];
      let claimedAny: boolean;
      try {
        ({ deliveries, claimedAny } = await this.claim(max));
        backoff = 50;
        if (this.failing) {
          this.failing = false;
          this.host.ctx.logger.info(`Consumer ${this.settings.consumerName} is claiming again`);
        }
      } catch (error) {
        if (this.closed) break;
        if (!this.failing) {
          this.failing = true;
          this.host.ctx.logger.warn(`Consumer ${this.settings.consumerName} could not claim jobs from ${this.host.ctx.url}; retrying`, error);
        }
        await this.idle(backoff, signal);
        backoff = Math.min(MAX_ERROR_BACKOFF_MS, backoff * 2);
        continue;
      }
      if (deliveries.length > 0) {
        if (signal.aborted || this.closed) {
          await this.host.release(deliveries).catch(() => undefined);
          return [];
        }
        return deliveries;
      }
      if (claimedAny || generation !== this.generation) continue;
      let wait = this.settings.pollInterval;
      try {
        const { rows } = await this.host.ctx.pool.query<{ wait_ms: number | null }>(this.dueQuery([this.settings.queues]));
        const due = rows[0]?.wait_ms;
        if (due !== null && due !== undefined) wait = Math.min(wait, Math.max(0, Math.ceil(due)) + DUE_SLACK_MS);
      } catch {
        // NOTE: the safety poll still bounds the wait; the next claim reports the failure.
      }
      if (generation !== this.generation) continue;
      await this.idle(wait, signal);
    }
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.host.detach(this);
  }

  /** Claims up to `max` rows; undecodable ones are dead-lettered and not returned. */
  private async claim(max: number): Promise<{ deliveries: Delivery[]; claimedAny: boolean }> {
    const { queues, lease, consumerName } = this.settings;
    const { rows } = await this.host.ctx.pool.query<ClaimedRow>(this.claimQuery([queues, max, lease, consumerName]));
    if (rows.length > 1) rows.sort((a, b) => b.priority - a.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id));
    const deliveries: Delivery[] = [];
    for (const row of rows) {
      const decoded = decodeEnvelope(row.envelope);
      const delivery: Delivery = {
        envelope: decoded.ok ? decoded.envelope : placeholderEnvelope(row),
        receipt: encodeReceipt(row.id, row.lease),
        leaseExpiresAt: Math.round(row.locked_until_ms),
      };
      if (decoded.ok) {
        deliveries.push(delivery);
        continue;
      }
      this.host.ctx.logger.warn(`Job ${row.task_id.slice(0, 256)} on queue "${row.queue}" has a malformed envelope (${decoded.error}); dead-lettering it`);
      // NOTE: each row settles on its own: one that cannot be dead-lettered now stays leased until its
      // lease lapses (and is tried again), while the rows claimed with it are still delivered.
      const raw = row.envelope.slice(0, /[\uD800-\uDBFF]/.test(row.envelope[9_999] ?? '') ? 9_999 : 10_000);
      await this.host.deadLetter(delivery, MALFORMED_ENVELOPE_REASON, malformedDeadLetterMeta(decoded.error, raw)).catch((error: unknown) => {
        this.host.ctx.logger.warn(`Could not dead-letter job ${row.task_id.slice(0, 256)} on queue "${row.queue}"; it is retried when its lease lapses`, error);
      });
    }
    return { deliveries, claimedAny: rows.length > 0 };
  }

  /** Sleeps up to `ms`, returning early on a wake-up, an abort or close. */
  private idle(ms: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
