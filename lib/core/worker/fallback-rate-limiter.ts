import type { RateLimit, RateLimitDecision, RateLimiter } from '../contracts/rate-limiter.js';
import type { Clock } from '../utils/clock.js';

/** How often idle buckets are dropped, in ms of the limiter's clock. */
const SWEEP_INTERVAL_MS = 60_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket is full again; from then on it carries no state. */
  fullAt: number;
}

/**
 * Token buckets in this process, one per key: refilled continuously at `tokens` per `interval`,
 * bursts up to `tokens`. A bucket that has refilled completely is dropped at the next sweep, so
 * keys with one bucket each (a tenant, a group) do not accumulate.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private nextSweep = 0;

  /** Buckets held (full buckets are dropped about once a minute). */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key` at `now`. */
  take(key: string, limit: RateLimit, now: number): RateLimitDecision {
    if (now >= this.nextSweep) this.sweep(now);
    const rate = limit.tokens / limit.interval;
    const bucket = this.buckets.get(key) ?? { tokens: limit.tokens, updatedAt: now, fullAt: now };
    bucket.tokens = Math.min(limit.tokens, bucket.tokens + Math.max(0, now - bucket.updatedAt) * rate);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    let decision: RateLimitDecision;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      decision = { allowed: true, retryAfter: 0 };
    } else {
      decision = { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
    }
    bucket.fullAt = now + (limit.tokens - bucket.tokens) / rate;
    return decision;
  }

  /** Gives one token back to `key` at `now`, up to the capacity; a bucket not held is full already. */
  refund(key: string, limit: RateLimit, now: number): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    const rate = limit.tokens / limit.interval;
    bucket.tokens = Math.min(limit.tokens, bucket.tokens + Math.max(0, now - bucket.updatedAt) * rate + 1);
    bucket.updatedAt = now;
    bucket.fullAt = now + (limit.tokens - bucket.tokens) / rate;
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
    this.nextSweep = now + SWEEP_INTERVAL_MS;
  }
}

/**
 * The per-process token bucket a worker uses when no limiter is configured. The same algorithm as
 * `InMemoryRateLimiter`, kept in the core so the core does not import an adapter.
 */
export class InMemoryRateLimiterFallback implements RateLimiter {
  private readonly buckets = new TokenBuckets();

  constructor(private readonly clock: Clock) {}

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    return this.buckets.take(key, limit, this.clock.now());
  }

  async refund(key: string, limit: RateLimit): Promise<void> {
    this.buckets.refund(key, limit, this.clock.now());
  }

  async close(): Promise<void> {}
}
