import type { LockStore } from '../../core/contracts/lock-store.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { scripts } from './scripts/index.js';
import { resolveRedisUrl } from './redis.url.js';

/**
 * A {@link LockStore} on Redis: `SET key owner PX ttl` when free, Lua compare-and-pexpire to renew
 * and compare-and-delete to release, so only the owner can touch its lock.
 *
 * @example
 * const locks = await RedisLockStore.connect('redis://127.0.0.1:6379');
 * if (await locks.acquire('beat', workerId, 10_000)) { ... }
 */
export class RedisLockStore implements LockStore {
  private readonly keys: RedisKeys;
  private closing: Promise<void> | undefined;

  /** The command connection (shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisConnectionOptions,
  ) {
    this.connection = shared.connection;
    this.keys = new RedisKeys(options.prefix ?? 'stem');
  }

  /**
   * Connects to Redis and returns a lock store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisConnectionOptions = {}): Promise<RedisLockStore> {
    const target = resolveRedisUrl(url, options);
    return new RedisLockStore(await Connection.share(target.url, target.options), target.options);
  }

  async acquire(key: string, owner: string, ttl: number): Promise<boolean> {
    return Number(await scripts.lockAcquire.run(this.connection, [this.keys.lock(key)], [owner, Math.max(1, Math.ceil(ttl))])) === 1;
  }

  async renew(key: string, owner: string, ttl: number): Promise<boolean> {
    return Number(await scripts.lockRenew.run(this.connection, [this.keys.lock(key)], [owner, Math.max(1, Math.ceil(ttl))])) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await scripts.lockRelease.run(this.connection, [this.keys.lock(key)], [owner])) === 1;
  }

  async ownerOf(key: string): Promise<string | null> {
    return this.connection.command<string | null>('get', this.keys.lock(key));
  }

  close(): Promise<void> {
    this.closing ??= this.shared.release();
    return this.closing;
  }
}
