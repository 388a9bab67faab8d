import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../core/contracts/rate-limiter.js';
import { sleep, uniqueName } from './contract-helpers.js';

/** How the rate limiter suite gets fresh instances. */
export interface RateLimiterContractFactory {
  create(): Promise<RateLimiter>;
  dispose?(limiter: RateLimiter): Promise<void>;
}

/** The behaviours every {@link RateLimiter} must show. */
export function runRateLimiterContractTests(adapter: string, factory: RateLimiterContractFactory): void {
  describe(`RateLimiter contract: ${adapter}`, () => {
    let limiter: RateLimiter;
    let key: string;
    beforeEach(async () => {
      limiter = await factory.create();
      key = uniqueName('rl');
    });
    afterEach(async () => {
      await (factory.dispose ? factory.dispose(limiter) : limiter.close());
    });

    it('allows `tokens` per interval, then denies with a retryAfter', async () => {
      const limit = { tokens: 3, interval: 1_000 };
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.acquire(key, limit));
      expect(decisions.slice(0, 3).every((d) => d.allowed)).toBe(true);
      expect(decisions[3]).toMatchObject({ allowed: false });
      expect(decisions[3]!.retryAfter).toBeGreaterThan(0);
      expect(decisions[3]!.retryAfter).toBeLessThanOrEqual(1_000);
    });

    it('allows again after retryAfter', async () => {
      const limit = { tokens: 1, interval: 300 };
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      const denied = await limiter.acquire(key, limit);
      expect(denied.allowed).toBe(false);
      await sleep(denied.retryAfter + 50);
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
    });

    it('never grants more than `tokens` to concurrent acquires of one key', async () => {
      const limit = { tokens: 5, interval: 60_000 };
      const decisions = await Promise.all(Array.from({ length: 12 }, () => limiter.acquire(key, limit)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
      expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfter > 0)).toBe(true);
    });

    it('gives each of many keys (one per tenant) its own bucket under concurrency', async () => {
      const limit = { tokens: 2, interval: 60_000 };
      const tenants = Array.from({ length: 20 }, (_, i) => `${key}:tenant-${i}`);
      const decisions = await Promise.all(tenants.flatMap((tenant) => [0, 1, 2].map(async () => ({ tenant, allowed: (await limiter.acquire(tenant, limit)).allowed }))));
      for (const tenant of tenants) expect(decisions.filter((d) => d.tenant === tenant && d.allowed)).toHaveLength(2);
    });

    it('refund (when implemented) gives one taken token back, never above the capacity', async (ctx) => {
      if (!limiter.refund) return ctx.skip();
      const limit = { tokens: 2, interval: 60_000 };
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      expect((await limiter.acquire(key, limit)).allowed).toBe(false);
      await limiter.refund(key, limit);
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      expect((await limiter.acquire(key, limit)).allowed).toBe(false);
      // A full bucket stays at its capacity however many refunds it gets.
      const full = `${key}-full`;
      await limiter.refund(full, limit);
      expect((await limiter.acquire(full, limit)).allowed).toBe(true);
      await limiter.refund(full, limit);
      await limiter.refund(full, limit);
      await limiter.refund(full, limit);
      const after = await Promise.all([0, 1, 2].map(() => limiter.acquire(full, limit)));
      expect(after.filter((d) => d.allowed)).toHaveLength(2);
    });

    it('keeps keys independent', async () => {
      const limit = { tokens: 1, interval: 10_000 };
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      expect((await limiter.acquire(`${key}-other`, limit)).allowed).toBe(true);
      expect((await limiter.acquire(key, limit)).allowed).toBe(false);
    });
  });
}
