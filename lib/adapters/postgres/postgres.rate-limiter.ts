import type { RateLimit, RateLimitDecision, RateLimiter } from '../../core/contracts/rate-limiter.js';
import { openPostgres, type PostgresContext, type PostgresTarget } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { prepared } from './postgres.statements.js';
import { deleteIdleBuckets, refundToken, takeToken } from './sql/rate-limits.sql.js';

const SWEEP_INTERVAL_MS = 600_000;

/**
 * A global {@link RateLimiter} on Postgres: one token bucket row per key, refilled and debited in
 * a single statement on the server clock, so every worker sharing the database shares the limit.
 *
 * @example
 * const rateLimiter = await PostgresRateLimiter.connect(process.env.DATABASE_URL!);
 * const worker = new Worker({ broker, backend, registry, queues: ['default'], rateLimiter });
 */
export class PostgresRateLimiter implements RateLimiter {
  private readonly takeQuery;
  private readonly refundQuery;
  private readonly sweeper: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(private readonly ctx: PostgresContext) {
    this.takeQuery = prepared(takeToken(ctx.s));
    this.refundQuery = prepared(refundToken(ctx.s));
    this.sweeper = setInterval(() => {
      ctx.pool.query(deleteIdleBuckets(ctx.s), [1_000]).catch((error: unknown) => ctx.logger.warn('Deleting idle rate-limit buckets failed', error));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first.
   * @throws PostgresConnectionError when the server cannot be reached
   */
  static async connect(target: PostgresTarget, options: PostgresConnectOptions = {}): Promise<PostgresRateLimiter> {
    return new PostgresRateLimiter(await openPostgres(target, options));
  }

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    const rate = limit.tokens / limit.interval;
    const { rows } = await this.ctx.pool.query<{ allowed: boolean; tokens: number }>(this.takeQuery([key, limit.tokens, rate]));
    const { allowed, tokens } = rows[0]!;
    if (allowed) return { allowed: true, retryAfter: 0 };
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - tokens) / rate)) };
  }

  async refund(key: string, limit: RateLimit): Promise<void> {
    await this.ctx.pool.query(this.refundQuery([key, limit.tokens, limit.tokens / limit.interval]));
  }

  /** Releases the pool reference. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      await this.ctx.release();
    })();
    return this.closing;
  }
}
