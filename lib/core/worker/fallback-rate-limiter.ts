import type { RateLimit, RateLimitDecision, RateLimiter } from '../contracts/rate-limiter.js';
import type { Clock } from '../utils/clock.js';

/**
 * The per-process token bucket a worker uses when no limiter is configured. The same algorithm as
 * `InMemoryRateLimiter`, kept in the core so the core does not import an adapter.
 */
export class InMemoryRateLimiterFallback implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(private readonly clock: Clock) {}

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    return takeToken(this.buckets, key, limit, this.clock.now());
  }

  async close(): Promise<void> {}
}

/** Token-bucket step shared by the in-process limiters: refill continuously, take one token. */
export function takeToken(buckets: Map<string, { tokens: number; updatedAt: number }>, key: string, limit: RateLimit, now: number): RateLimitDecision {
  const rate = limit.tokens / limit.interval;
  const bucket = buckets.get(key) ?? { tokens: limit.tokens, updatedAt: now };
  bucket.tokens = Math.min(limit.tokens, bucket.tokens + (now - bucket.updatedAt) * rate);
  bucket.updatedAt = now;
  buckets.set(key, bucket);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return { allowed: true, retryAfter: 0 };
  }
  return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
}
