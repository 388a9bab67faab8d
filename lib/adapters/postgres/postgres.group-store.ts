import type { GroupMemberResult, GroupStatus, GroupStore } from '../../core/canvas/group-store.js';
import { openPostgres, type PostgresContext, type PostgresTarget } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { requireTable } from './postgres.require-table.js';

/** Options of {@link PostgresGroupStore}. */
export interface PostgresGroupStoreOptions extends PostgresConnectOptions {
  /** TTL in ms of groups created without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
}

const SWEEP_INTERVAL_MS = 600_000;

/** Creates or resets group $1 with $2 members, meta $3, TTL $4 ms. */
const initGroup = (s: string) => `
INSERT INTO ${s}.canvas_groups AS g (id, expected, meta, results, claimed_by, created_at, expires_at)
VALUES ($1, $2, $3::jsonb, (SELECT coalesce(jsonb_agg(NULL::jsonb), '[]'::jsonb) FROM generate_series(1, $2)), NULL, now(), now() + $4 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET expected = EXCLUDED.expected, meta = EXCLUDED.meta, results = EXCLUDED.results,
  claimed_by = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`;

const COLUMNS = `id, expected, meta, results, claimed_by, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`;

/** Sets slot $2 of live group $1 to $3; one row lock per group keeps concurrent adds atomic. */
const addResult = (s: string) => `
UPDATE ${s}.canvas_groups SET results = jsonb_set(results, ARRAY[$2::text], $3::jsonb)
WHERE id = $1 AND expires_at > now() AND $2 < expected
RETURNING ${COLUMNS}`;

/** Live group $1. */
const getGroup = (s: string) => `SELECT ${COLUMNS} FROM ${s}.canvas_groups WHERE id = $1 AND expires_at > now()`;

/** Claims the chord of live group $1 for callback $2; a row only for the first caller. */
const claimChord = (s: string) => `
UPDATE ${s}.canvas_groups SET claimed_by = $2 WHERE id = $1 AND claimed_by IS NULL AND expires_at > now() RETURNING 1`;

/** Clears the chord claim of group $1 if callback $2 holds it. */
const releaseChord = (s: string) => `
UPDATE ${s}.canvas_groups SET claimed_by = NULL WHERE id = $1 AND claimed_by = $2`;

/** Deletes up to $1 groups that expired. */
const deleteExpired = (s: string) => `
DELETE FROM ${s}.canvas_groups WHERE id IN (SELECT id FROM ${s}.canvas_groups WHERE expires_at < now() LIMIT $1)`;

interface GroupRow {
  id: string;
  expected: number;
  meta: Record<string, unknown>;
  results: (GroupMemberResult | null)[];
  claimed_by: string | null;
  created_ms: number;
  expires_ms: number;
}

/**
 * A {@link GroupStore} on Postgres: one row per group in `<schema>.canvas_groups` with member
 * results in a JSONB array; each add is one `UPDATE … jsonb_set` (the row lock serialises
 * concurrent members) and the chord claim one conditional `UPDATE`. Expiry uses the server clock.
 *
 * @example
 * const groupStore = await PostgresGroupStore.connect(process.env.DATABASE_URL!);
 * const worker = new Worker({ broker, backend, registry, groupStore });
 */
export class PostgresGroupStore implements GroupStore {
  readonly name = 'postgres';
  private readonly sweeper: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(private readonly ctx: PostgresContext, private readonly defaultTtl: number) {
    this.sweeper = setInterval(() => {
      ctx.pool.query(deleteExpired(ctx.s), [1_000]).catch((error: unknown) => ctx.logger.warn('Deleting expired canvas groups failed', error));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`); the groups table comes with migration 0003.
   * @throws PostgresConnectionError when the server cannot be reached
   */
  static async connect(target: PostgresTarget, options: PostgresGroupStoreOptions = {}): Promise<PostgresGroupStore> {
    const ctx = await openPostgres(target, options);
    try {
      await requireTable(ctx, 'canvas_groups');
    } catch (error) {
      await ctx.release();
      throw error;
    }
    return new PostgresGroupStore(ctx, options.defaultTtl ?? 86_400_000);
  }

  async initGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<void> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    await this.ctx.pool.query(initGroup(this.ctx.s), [id, expected, JSON.stringify(meta), Math.max(1, ttl ?? this.defaultTtl)]);
  }

  async addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null> {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`Group ${groupId}: index ${index} is out of range`);
    const { rows } = await this.ctx.pool.query<GroupRow>(addResult(this.ctx.s), [groupId, index, JSON.stringify(result)]);
    if (rows[0]) return this.toStatus(rows[0]);
    const existing = await this.getGroup(groupId);
    if (existing) throw new RangeError(`Group ${groupId} has ${existing.expected} members; index ${index} is out of range`);
    return null;
  }

  async getGroup(groupId: string): Promise<GroupStatus | null> {
    const { rows } = await this.ctx.pool.query<GroupRow>(getGroup(this.ctx.s), [groupId]);
    return rows[0] ? this.toStatus(rows[0]) : null;
  }

  async releaseChord(groupId: string, callbackId: string): Promise<void> {
    await this.ctx.pool.query(releaseChord(this.ctx.s), [groupId, callbackId]);
  }

  async claimChord(groupId: string, callbackId: string): Promise<boolean> {
    const { rowCount } = await this.ctx.pool.query(claimChord(this.ctx.s), [groupId, callbackId]);
    return (rowCount ?? 0) > 0;
  }

  /** Releases the pool reference. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      await this.ctx.release();
    })();
    return this.closing;
  }

  private toStatus(row: GroupRow): GroupStatus {
    let completed = 0;
    let failed = 0;
    for (const r of row.results) {
      if (!r) continue;
      completed++;
      if (r.state !== 'succeeded') failed++;
    }
    return {
      id: row.id,
      expected: row.expected,
      meta: row.meta,
      results: row.results,
      completed,
      failed,
      isComplete: completed === row.expected,
      ...(row.claimed_by !== null ? { chordClaimedBy: row.claimed_by } : {}),
      createdAt: Math.round(row.created_ms),
      expiresAt: Math.round(row.expires_ms),
    };
  }
}
