import { type CreateGroupResult, DEFAULT_CHORD_CLAIM_TIMEOUT_MS, type GroupMemberResult, type GroupStatus, type GroupStore } from '../../core/canvas/group-store.js';
import { openPostgres, type PostgresContext, type PostgresTarget } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { requireTable } from './postgres.require-table.js';
import * as sql from './sql/groups.sql.js';

/** Options of {@link PostgresGroupStore}. */
export interface PostgresGroupStoreOptions extends PostgresConnectOptions {
  /** TTL in ms of groups created without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** ms a chord claim holds before another attempt may take it over. @default 30000 */
  readonly chordClaimTimeout?: number;
}

const SWEEP_INTERVAL_MS = 600_000;

interface GroupRow {
  id: string;
  expected: number;
  meta: Record<string, unknown>;
  results: (GroupMemberResult | null)[];
  claimed_by: string | null;
  claim_expires_ms: number | null;
  dispatched: boolean;
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

  private constructor(
    private readonly ctx: PostgresContext,
    private readonly defaultTtl: number,
    private readonly claimTimeout: number,
  ) {
    this.sweeper = setInterval(() => {
      ctx.pool.query(sql.deleteExpiredGroups(ctx.s), [1_000]).catch((error: unknown) => ctx.logger.warn('Deleting expired canvas groups failed', error));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`); the groups table comes with migration 0003
   * (claim deadlines with 0005).
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
    return new PostgresGroupStore(ctx, options.defaultTtl ?? 86_400_000, options.chordClaimTimeout ?? DEFAULT_CHORD_CLAIM_TIMEOUT_MS);
  }

  async initGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<void> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    await this.ctx.pool.query(sql.initGroup(this.ctx.s), [id, expected, JSON.stringify(meta), Math.max(1, ttl ?? this.defaultTtl)]);
  }

  async createGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<CreateGroupResult> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    // NOTE: the existing row can expire between the INSERT and the read; then the next try creates it.
    for (;;) {
      const { rows } = await this.ctx.pool.query<GroupRow>(sql.createGroup(this.ctx.s), [id, expected, JSON.stringify(meta), Math.max(1, ttl ?? this.defaultTtl)]);
      if (rows[0]) return { created: true, group: this.toStatus(rows[0]) };
      const existing = await this.getGroup(id);
      if (existing) return { created: false, group: existing };
    }
  }

  async addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null> {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`Group ${groupId}: index ${index} is out of range`);
    const { rows } = await this.ctx.pool.query<GroupRow>(sql.addResult(this.ctx.s), [groupId, index, JSON.stringify(result)]);
    if (rows[0]) return this.toStatus(rows[0]);
    const existing = await this.getGroup(groupId);
    if (existing) throw new RangeError(`Group ${groupId} has ${existing.expected} members; index ${index} is out of range`);
    return null;
  }

  async getGroup(groupId: string): Promise<GroupStatus | null> {
    const { rows } = await this.ctx.pool.query<GroupRow>(sql.getGroup(this.ctx.s), [groupId]);
    return rows[0] ? this.toStatus(rows[0]) : null;
  }

  async releaseChord(groupId: string, callbackId: string): Promise<void> {
    await this.ctx.pool.query(sql.releaseChord(this.ctx.s), [groupId, callbackId]);
  }

  async claimChord(groupId: string, callbackId: string, claimTimeout = this.claimTimeout): Promise<boolean> {
    const { rowCount } = await this.ctx.pool.query(sql.claimChord(this.ctx.s), [groupId, callbackId, Math.max(1, Math.ceil(claimTimeout))]);
    return (rowCount ?? 0) > 0;
  }

  async markChordDispatched(groupId: string, callbackId: string): Promise<void> {
    await this.ctx.pool.query(sql.markChordDispatched(this.ctx.s), [groupId, callbackId]);
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
      ...(row.claimed_by !== null && row.claim_expires_ms !== null ? { chordClaimExpiresAt: Math.round(row.claim_expires_ms) } : {}),
      ...(row.dispatched ? { chordDispatched: true } : {}),
      createdAt: Math.round(row.created_ms),
      expiresAt: Math.round(row.expires_ms),
    };
  }
}
