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

    it('keeps keys independent', async () => {
      const limit = { tokens: 1, interval: 10_000 };
      expect((await limiter.acquire(key, limit)).allowed).toBe(true);
      expect((await limiter.acquire(`${key}-other`, limit)).allowed).toBe(true);
      expect((await limiter.acquire(key, limit)).allowed).toBe(false);
    });
  });
}
