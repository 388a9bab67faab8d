import { ScheduleRecords } from '../../core/beat/schedule-records.js';
import type {
  ScheduleEntry,
  ScheduleExecution,
  ScheduleListFilter,
  ScheduleReschedule,
  ScheduleStore,
  ScheduleUpsert,
  ScheduleUpsertOptions,
} from '../../core/contracts/schedule-store.js';
import { ScheduleConflictError } from '../../core/errors/schedule-conflict.error.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { isNotSentError, openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { requireTable } from './postgres.require-table.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/schedules.sql.js';

/** Options of {@link PostgresScheduleStore.connect}. */
export interface PostgresScheduleStoreOptions extends PostgresConnectOptions {
  /** Stamps `createdAt`/`updatedAt`. @default systemClock */
  readonly clock?: Clock;
}

interface ScheduleRow {
  version: number;
  entry: ScheduleEntry;
}

/**
 * A {@link ScheduleStore} on Postgres: one row per entry in `<schema>.schedules`, the entry as
 * JSON beside the columns queries use. Every write is a compare-and-set in SQL (`UPDATE … WHERE
 * version = $expected`, or `INSERT … ON CONFLICT DO NOTHING` for a new entry), so concurrent Beat
 * replicas and CLI edits never overwrite each other; `due()` walks a partial index on the next run
 * of enabled entries.
 *
 * @example
 * const store = await PostgresScheduleStore.connect(process.env.DATABASE_URL!);
 * const beat = new Beat({ store, stem, lockStore: await PostgresLockStore.connect(process.env.DATABASE_URL!) });
 */
export class PostgresScheduleStore implements ScheduleStore {
  readonly name = 'postgres';
  private readonly clock: Clock;
  private readonly statements;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly ctx: PostgresContext,
    options: PostgresScheduleStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.statements = {
      get: prepared(sql.getSchedule(ctx.s)),
      due: prepared(sql.dueSchedules(ctx.s)),
      insert: prepared(sql.insertSchedule(ctx.s)),
      update: prepared(sql.updateSchedule(ctx.s)),
    };
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first (unless
   * `migrate: false`; the `schedules` table comes with migration 0002).
   *
   * @param target a `postgres://` URL, or a pool the caller owns (never ended by the store)
   * @param options schema (@default 'stem'), pool settings, logger, clock
   * @throws PostgresConnectionError when the server cannot be reached
   * @throws PostgresMigrationError when the table is missing and migrations are off
   */
  static async connect(target: PostgresTarget, options: PostgresScheduleStoreOptions = {}): Promise<PostgresScheduleStore> {
    const ctx = await openPostgres(target, options);
    try {
      await requireTable(ctx, 'schedules');
    } catch (error) {
      await ctx.release();
      throw error;
    }
    return new PostgresScheduleStore(ctx, options);
  }

  async upsert(entry: ScheduleUpsert, options: ScheduleUpsertOptions = {}): Promise<ScheduleEntry> {
    const expected = options.expectedVersion;
    for (;;) {
      const existing = await this.get(entry.id);
      const version = existing?.version ?? 0;
      if (expected !== undefined && version !== expected) throw new ScheduleConflictError(entry.id, expected, existing?.version ?? null);
      const written = await this.compareAndSet(ScheduleRecords.upsert(existing, entry, this.clock.now()), version);
      if (written) return written;
      if (expected !== undefined) throw new ScheduleConflictError(entry.id, expected, await this.versionOf(entry.id));
      // NOTE: an unconditional upsert that lost a race re-reads and applies its definition on top.
    }
  }

  async remove(id: string): Promise<boolean> {
    const { rowCount } = await retryTransient(() => this.ctx.pool.query(sql.deleteSchedule(this.ctx.s), [id]), 10_000, isNotSentError);
    return (rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<ScheduleEntry | null> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<ScheduleRow>(this.statements.get([id])));
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async list(filter: ScheduleListFilter = {}): Promise<ScheduleEntry[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<ScheduleRow>(sql.listSchedules(this.ctx.s), [filter.enabled ?? null, filter.source ?? null]));
    return rows.map(toEntry);
  }

  async due(now: number, limit = 100): Promise<ScheduleEntry[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<ScheduleRow>(this.statements.due([now, Math.max(0, Math.trunc(limit))])));
    return rows.map(toEntry);
  }

  async markExecuted(id: string, execution: ScheduleExecution): Promise<ScheduleEntry> {
    return this.update(id, execution.version, (existing, now) => ScheduleRecords.execute(existing, execution, now));
  }

  async reschedule(id: string, change: ScheduleReschedule): Promise<ScheduleEntry> {
    return this.update(id, change.version, (existing, now) => ScheduleRecords.reschedule(existing, change, now));
  }

  /** Releases the pool reference. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.ctx.release();
    return this.closing;
  }

  private async update(id: string, version: number, change: (existing: ScheduleEntry, now: number) => ScheduleEntry): Promise<ScheduleEntry> {
    const existing = await this.get(id);
    if (!existing || existing.version !== version) throw new ScheduleConflictError(id, version, existing?.version ?? null);
    const written = await this.compareAndSet(change(existing, this.clock.now()), version);
    if (!written) throw new ScheduleConflictError(id, version, await this.versionOf(id));
    return written;
  }

  /**
   * Writes `entry` if the stored version is `expectedVersion` (`0`: no row yet). Returns the entry
   * as stored (what `get` would read), or `null` when another writer got there first.
   */
  private async compareAndSet(entry: ScheduleEntry, expectedVersion: number): Promise<ScheduleEntry | null> {
    const json = JSON.stringify(entry);
    const params = [entry.id, entry.version, entry.enabled, entry.source ?? 'runtime', entry.nextRunAt, json];
    const query = expectedVersion === 0 ? this.statements.insert(params) : this.statements.update([...params, expectedVersion]);
    // NOTE: only failures before the statement reached the server are retried; a lost reply to a
    // committed write would otherwise come back as a conflict with our own write.
    const { rowCount } = await retryTransient(() => this.ctx.pool.query(query), 10_000, isNotSentError);
    return (rowCount ?? 0) > 0 ? (JSON.parse(json) as ScheduleEntry) : null;
  }

  private async versionOf(id: string): Promise<number | null> {
    return (await this.get(id))?.version ?? null;
  }
}

function toEntry(row: ScheduleRow): ScheduleEntry {
  return { ...row.entry, version: row.version };
}
