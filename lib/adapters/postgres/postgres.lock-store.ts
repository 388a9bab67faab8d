import type { LockStore } from '../../core/contracts/lock-store.js';
import { openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/locks.sql.js';

const SWEEP_INTERVAL_MS = 600_000;

/**
 * A {@link LockStore} on Postgres: one row per key with owner and expiry, taken with a single
 * `INSERT … ON CONFLICT … WHERE expired OR same owner`, so exactly one of many concurrent callers
 * wins. Expiry uses the server clock, so it holds across processes and hosts.
 *
 * @example
 * const locks = await PostgresLockStore.connect(process.env.DATABASE_URL!);
 * if (await locks.acquire('beat:nightly', workerId, 30_000)) { ... }
 */
export class PostgresLockStore implements LockStore {
  private readonly acquireQuery;
  private readonly sweeper: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(private readonly ctx: PostgresContext) {
    this.acquireQuery = prepared(sql.acquireLock(ctx.s));
    this.sweeper = setInterval(() => {
      ctx.pool.query(sql.deleteExpiredLocks(ctx.s), [1_000]).catch((error: unknown) => ctx.logger.warn('Deleting expired locks failed', error));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first.
   * @throws PostgresConnectionError when the server cannot be reached
   */
  static async connect(target: PostgresTarget, options: PostgresConnectOptions = {}): Promise<PostgresLockStore> {
    return new PostgresLockStore(await openPostgres(target, options));
  }

  async acquire(key: string, owner: string, ttl: number): Promise<boolean> {
    const { rowCount } = await retryTransient(() => this.ctx.pool.query(this.acquireQuery([key, owner, Math.max(0, ttl)])));
    return (rowCount ?? 0) > 0;
  }

  async renew(key: string, owner: string, ttl: number): Promise<boolean> {
    const { rowCount } = await retryTransient(() => this.ctx.pool.query(sql.renewLock(this.ctx.s), [key, owner, Math.max(0, ttl)]));
    return (rowCount ?? 0) > 0;
  }

  async release(key: string, owner: string): Promise<boolean> {
    const { rowCount } = await this.ctx.pool.query(sql.releaseLock(this.ctx.s), [key, owner]);
    return (rowCount ?? 0) > 0;
  }

  async ownerOf(key: string): Promise<string | null> {
    const { rows } = await this.ctx.pool.query<{ owner: string }>(sql.lockOwner(this.ctx.s), [key]);
    return rows[0]?.owner ?? null;
  }

  /** Releases the pool reference. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      await this.ctx.release();
    })();
    return this.closing;
  }
}
