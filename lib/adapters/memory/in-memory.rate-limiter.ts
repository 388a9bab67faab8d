import type { RateLimit, RateLimitDecision, RateLimiter } from '../../core/contracts/rate-limiter.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';

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
    const now = this.clock.now();
    const rate = limit.tokens / limit.interval;
    const bucket = this.buckets.get(key) ?? { tokens: limit.tokens, updatedAt: now };
    bucket.tokens = Math.min(limit.tokens, bucket.tokens + (now - bucket.updatedAt) * rate);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfter: 0 };
    }
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
  }

  async close(): Promise<void> {}
}
