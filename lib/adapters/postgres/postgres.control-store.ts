import type { ControlStore, QueuePauseEntry, RevokeEntry, WorkerHeartbeat } from '../../core/contracts/control-store.js';
import { openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import * as sql from './sql/control.sql.js';

/** Options of {@link PostgresControlStore}. */
export interface PostgresControlStoreOptions extends PostgresConnectOptions {
  /** Separates the control state of apps sharing one schema. @default 'stem' */
  readonly namespace?: string;
}

/** Revocations per upsert statement. */
const UPSERT_CHUNK = 1_000;

/**
 * A {@link ControlStore} on Postgres (tables of migration 0006): revocations and queue pauses
 * are upserted with `ON CONFLICT … WHERE stored.version < new.version`, so the higher version
 * wins whatever the order of writes; heartbeats expire by the server clock.
 *
 * @example
 * const store = await PostgresControlStore.connect(process.env.DATABASE_URL!);
 */
export class PostgresControlStore implements ControlStore {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly ctx: PostgresContext,
    private readonly namespace: string,
  ) {}

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first.
   * @throws PostgresConnectionError when the server cannot be reached
   */
  static async connect(target: PostgresTarget, options: PostgresControlStoreOptions = {}): Promise<PostgresControlStore> {
    return new PostgresControlStore(await openPostgres(target, options), options.namespace ?? 'stem');
  }

  async upsertRevokes(entries: readonly RevokeEntry[]): Promise<number> {
    // NOTE: one statement cannot update a row twice; keep the highest version of each id.
    const latest = new Map<string, RevokeEntry>();
    for (const e of entries) if ((latest.get(e.taskId)?.version ?? -Infinity) < e.version) latest.set(e.taskId, e);
    const rows = [...latest.values()].map((e) => ({ task_id: e.taskId, version: e.version, expires_at: e.expiresAt ?? null, entry: e }));
    let written = 0;
    for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
      const chunk = JSON.stringify(rows.slice(i, i + UPSERT_CHUNK));
      const { rowCount } = await retryTransient(() => this.ctx.pool.query(sql.upsertRevokes(this.ctx.s), [this.namespace, chunk]));
      written += rowCount ?? 0;
    }
    return written;
  }

  async listRevokes(now: number = Date.now()): Promise<RevokeEntry[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<{ entry: RevokeEntry }>(sql.listRevokes(this.ctx.s), [this.namespace, now]));
    return rows.map((r) => r.entry);
  }

  async pruneRevokes(now: number): Promise<number> {
    const { rowCount } = await this.ctx.pool.query(sql.pruneRevokes(this.ctx.s), [this.namespace, now]);
    return rowCount ?? 0;
  }

  async setQueuePause(entry: QueuePauseEntry): Promise<boolean> {
    const { rowCount } = await retryTransient(() => this.ctx.pool.query(sql.setQueuePause(this.ctx.s), [this.namespace, entry.queue, entry.version, JSON.stringify(entry)]));
    return (rowCount ?? 0) > 0;
  }

  async listQueuePauses(): Promise<QueuePauseEntry[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<{ entry: QueuePauseEntry }>(sql.listQueuePauses(this.ctx.s), [this.namespace]));
    return rows.map((r) => r.entry);
  }

  async recordHeartbeat(heartbeat: WorkerHeartbeat, ttl: number): Promise<void> {
    await this.ctx.pool.query(sql.recordHeartbeat(this.ctx.s), [this.namespace, heartbeat.workerId, Math.max(1, Math.ceil(ttl)), JSON.stringify(heartbeat)]);
  }

  async listHeartbeats(): Promise<WorkerHeartbeat[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<{ heartbeat: WorkerHeartbeat }>(sql.listHeartbeats(this.ctx.s), [this.namespace]));
    return rows.map((r) => r.heartbeat);
  }

  async removeHeartbeat(workerId: string): Promise<void> {
    await this.ctx.pool.query(sql.removeHeartbeat(this.ctx.s), [this.namespace, workerId]);
  }

  /** Releases the pool reference. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.ctx.release();
    return this.closing;
  }
}
