import type { RateLimit, RateLimitDecision, RateLimiter } from '../../core/contracts/rate-limiter.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { TokenBuckets } from '../../core/worker/fallback-rate-limiter.js';

/**
 * A token bucket per key, in this process: `tokens` per `interval`, refilled continuously, burst
 * up to `tokens`; buckets that refilled completely are dropped, so per-tenant keys do not pile up.
 * Limits hold per worker process; use the Redis or Postgres limiter for a global limit.
 */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly buckets = new TokenBuckets();
  private readonly clock: Clock;

  /** @param options.clock @default systemClock */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Buckets held in memory (for tests and diagnostics). */
  get size(): number {
    return this.buckets.size;
  }

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    return this.buckets.take(key, limit, this.clock.now());
  }

  async refund(key: string, limit: RateLimit): Promise<void> {
    this.buckets.refund(key, limit, this.clock.now());
  }

  async close(): Promise<void> {}
}
