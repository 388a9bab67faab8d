import type { RateLimit, RateLimitDecision, RateLimiter } from '../../core/contracts/rate-limiter.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { takeToken } from '../../core/worker/fallback-rate-limiter.js';

/**
 * A token bucket per key, in this process: `tokens` per `interval`, refilled continuously, burst
 * up to `tokens`. Limits hold per worker process; use the Redis or Postgres limiter for a global
 * limit.
 */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
  private readonly clock: Clock;

  /** @param options.clock @default systemClock */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    return takeToken(this.buckets, key, limit, this.clock.now());
  }

  async close(): Promise<void> {}
}
