import type { RateLimit, RateLimitDecision, RateLimiter } from '../../core/contracts/rate-limiter.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { scripts } from './scripts/index.js';
import { resolveRedisUrl } from './redis.url.js';

/**
 * A {@link RateLimiter} shared by every worker on the same Redis: a token bucket per key, kept in
 * a Lua script on the server clock (`tokens` per `interval`, refilled continuously, bursts up to
 * `tokens`).
 *
 * @example
 * const limiter = await RedisRateLimiter.connect('redis://127.0.0.1:6379');
 * const { allowed, retryAfter } = await limiter.acquire('email.send:global', { tokens: 10, interval: 1_000 });
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly keys: RedisKeys;
  private closing: Promise<void> | undefined;

  /** The command connection (shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisConnectionOptions,
  ) {
    this.connection = shared.connection;
    this.keys = new RedisKeys(options.prefix ?? 'stem');
  }

  /**
   * Connects to Redis and returns a rate limiter.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisConnectionOptions = {}): Promise<RedisRateLimiter> {
    const target = resolveRedisUrl(url, options);
    return new RedisRateLimiter(await Connection.share(target.url, target.options), target.options);
  }

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    const [allowed, retryAfter] = await scripts.rateLimit.run<[number, number]>(this.connection, [this.keys.rate(key)], [limit.tokens, limit.interval, 1]);
    return { allowed: Number(allowed) === 1, retryAfter: Number(retryAfter) };
  }

  async refund(key: string, limit: RateLimit): Promise<void> {
    await scripts.rateLimit.run(this.connection, [this.keys.rate(key)], [limit.tokens, limit.interval, -1]);
  }

  close(): Promise<void> {
    this.closing ??= this.shared.release();
    return this.closing;
  }
}
