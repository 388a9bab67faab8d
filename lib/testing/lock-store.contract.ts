import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LockStore } from '../core/contracts/lock-store.js';
import { sleep, uniqueName } from './contract-helpers.js';

/** How the lock store suite gets fresh instances. */
export interface LockStoreContractFactory {
  create(): Promise<LockStore>;
  dispose?(store: LockStore): Promise<void>;
}

/** The behaviours every {@link LockStore} must show (TTL 200 ms). */
export function runLockStoreContractTests(adapter: string, factory: LockStoreContractFactory): void {
  describe(`LockStore contract: ${adapter}`, () => {
    let store: LockStore;
    let key: string;
    beforeEach(async () => {
      store = await factory.create();
      key = uniqueName('lock');
    });
    afterEach(async () => {
      await (factory.dispose ? factory.dispose(store) : store.close());
    });

    it('lets one owner hold a key and reports it; free after release', async () => {
      expect(await store.acquire(key, 'a', 5_000)).toBe(true);
      expect(await store.acquire(key, 'b', 5_000)).toBe(false);
      expect(await store.ownerOf(key)).toBe('a');
      expect(await store.release(key, 'a')).toBe(true);
      expect(await store.ownerOf(key)).toBeNull();
      expect(await store.acquire(key, 'b', 5_000)).toBe(true);
    });

    it('refuses release by another owner and keeps the lock', async () => {
      await store.acquire(key, 'a', 5_000);
      expect(await store.release(key, 'b')).toBe(false);
      expect(await store.ownerOf(key)).toBe('a');
    });

    it('frees a key after its TTL', async () => {
      await store.acquire(key, 'a', 200);
      await sleep(400);
      expect(await store.ownerOf(key)).toBeNull();
      expect(await store.acquire(key, 'b', 200)).toBe(true);
    });

    it('renew by the owner extends the TTL', async () => {
      // The renewal goes out right after the acquire, and the check comes after the first TTL has
      // surely passed: the owner still holding the key shows the renewal's TTL replaced the first.
      await store.acquire(key, 'a', 1_500);
      expect(await store.renew(key, 'a', 6_000)).toBe(true);
      await sleep(1_800);
      expect(await store.ownerOf(key)).toBe('a');
    });

    it('renew by another owner fails, and renew after expiry fails', async () => {
      await store.acquire(key, 'a', 200);
      expect(await store.renew(key, 'b', 1_000)).toBe(false);
      await sleep(400);
      expect(await store.renew(key, 'a', 1_000)).toBe(false);
    });

    it('gives a contended key to exactly one of many concurrent callers', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquire(key, `owner-${i}`, 5_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
