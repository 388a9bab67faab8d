/**
 * Distributed locks with an owner and a TTL. Only the owner may renew or release; an expired lock
 * can be acquired by anyone.
 */
export interface LockStore {
  /** Takes `key` for `owner` for `ttl` ms; `false` if another owner holds it. */
  acquire(key: string, owner: string, ttl: number): Promise<boolean>;
  /** Extends the TTL if `owner` still holds `key`; `false` otherwise. */
  renew(key: string, owner: string, ttl: number): Promise<boolean>;
  /** Releases `key` if `owner` holds it; `false` otherwise (the lock stays). */
  release(key: string, owner: string): Promise<boolean>;
  /** Current owner, or `null` when free or expired. */
  ownerOf(key: string): Promise<string | null>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
