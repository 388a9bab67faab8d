import type { LockStore } from '../../core/contracts/lock-store.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';

/** Locks held in this process; owners and TTLs work as in the shared stores. */
export class InMemoryLockStore implements LockStore {
  private readonly locks = new Map<string, { owner: string; expiresAt: number }>();
  private readonly clock: Clock;

  /** @param options.clock @default systemClock */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async acquire(key: string, owner: string, ttl: number): Promise<boolean> {
    const current = this.current(key);
    if (current && current.owner !== owner) return false;
    this.locks.set(key, { owner, expiresAt: this.clock.now() + ttl });
    return true;
  }

  async renew(key: string, owner: string, ttl: number): Promise<boolean> {
    const current = this.current(key);
    if (!current || current.owner !== owner) return false;
    current.expiresAt = this.clock.now() + ttl;
    return true;
  }

  async release(key: string, owner: string): Promise<boolean> {
    const current = this.current(key);
    if (!current || current.owner !== owner) return false;
    this.locks.delete(key);
    return true;
  }

  async ownerOf(key: string): Promise<string | null> {
    return this.current(key)?.owner ?? null;
  }

  async close(): Promise<void> {}

  private current(key: string): { owner: string; expiresAt: number } | undefined {
    const lock = this.locks.get(key);
    if (lock && lock.expiresAt <= this.clock.now()) {
      this.locks.delete(key);
      return undefined;
    }
    return lock;
  }
}
