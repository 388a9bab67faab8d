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
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { resolveRedisUrl } from './redis.url.js';
import { scripts } from './scripts/index.js';

/** Options of {@link RedisScheduleStore.connect}. */
export interface RedisScheduleStoreOptions extends RedisConnectionOptions {
  /** Stamps `createdAt`/`updatedAt`. @default systemClock */
  readonly clock?: Clock;
}

/**
 * A {@link ScheduleStore} on Redis. Entries are JSON in one HASH, enabled entries are indexed by
 * next run in a ZSET for `due()`, and every write is a Lua compare-and-set on the entry's
 * version (`scripts/schedule.lua.ts`), so concurrent Beat replicas and CLI edits never overwrite
 * each other. Both keys share the `{schedules}` hash tag, so the store works on Redis Cluster.
 *
 * @example
 * const store = await RedisScheduleStore.connect('redis://127.0.0.1:6379');
 * const beat = new Beat({ store, stem, lockStore: await RedisLockStore.connect(url) });
 */
export class RedisScheduleStore implements ScheduleStore {
  readonly name = 'redis';
  private readonly entriesKey: string;
  private readonly dueKey: string;
  private readonly clock: Clock;
  private closing: Promise<void> | undefined;

  /** The command connection (shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisScheduleStoreOptions,
  ) {
    this.connection = shared.connection;
    const keys = new RedisKeys(options.prefix ?? 'stem');
    this.entriesKey = keys.scheduleEntries;
    this.dueKey = keys.scheduleDue;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Connects to Redis and returns a schedule store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisScheduleStoreOptions = {}): Promise<RedisScheduleStore> {
    const target = resolveRedisUrl(url, options);
    return new RedisScheduleStore(await Connection.share(target.url, target.options), target.options);
  }

  async upsert(entry: ScheduleUpsert, options: ScheduleUpsertOptions = {}): Promise<ScheduleEntry> {
    for (;;) {
      const existing = await this.get(entry.id);
      const version = existing?.version ?? 0;
      if (options.expectedVersion !== undefined && version !== options.expectedVersion) {
        throw new ScheduleConflictError(entry.id, options.expectedVersion, existing?.version ?? null);
      }
      const next = ScheduleRecords.upsert(existing, entry, this.clock.now());
      const [written, actual] = await this.compareAndSet(next, version);
      if (written) return next;
      if (options.expectedVersion !== undefined) throw new ScheduleConflictError(entry.id, options.expectedVersion, actual < 0 ? null : actual);
    }
  }

  async remove(id: string): Promise<boolean> {
    return Number(await scripts.scheduleRemove.run(this.connection, [this.entriesKey, this.dueKey], [id])) === 1;
  }

  async get(id: string): Promise<ScheduleEntry | null> {
    const raw = await this.connection.command<string | null>('hget', this.entriesKey, id);
    return raw ? (JSON.parse(raw) as ScheduleEntry) : null;
  }

  async list(filter: ScheduleListFilter = {}): Promise<ScheduleEntry[]> {
    const raw = await this.connection.command<string[]>('hvals', this.entriesKey);
    return raw
      .map((r) => JSON.parse(r) as ScheduleEntry)
      .filter((e) => (filter.enabled === undefined || e.enabled === filter.enabled) && (filter.source === undefined || e.source === filter.source))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async due(now: number, limit = 100): Promise<ScheduleEntry[]> {
    const ids = await this.connection.command<string[]>('zrangebyscore', this.dueKey, '-inf', now, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const raw = await this.connection.command<(string | null)[]>('hmget', this.entriesKey, ...ids);
    return raw
      .filter((r): r is string => r !== null)
      .map((r) => JSON.parse(r) as ScheduleEntry)
      .filter((e) => e.enabled && e.nextRunAt !== null && e.nextRunAt <= now);
  }

  async markExecuted(id: string, execution: ScheduleExecution): Promise<ScheduleEntry> {
    return this.update(id, execution.version, (existing, now) => ScheduleRecords.execute(existing, execution, now));
  }

  async reschedule(id: string, change: ScheduleReschedule): Promise<ScheduleEntry> {
    return this.update(id, change.version, (existing, now) => ScheduleRecords.reschedule(existing, change, now));
  }

  /** Gives the shared connection back. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shared.release();
    return this.closing;
  }

  private async update(id: string, version: number, change: (existing: ScheduleEntry, now: number) => ScheduleEntry): Promise<ScheduleEntry> {
    const existing = await this.get(id);
    if (!existing || existing.version !== version) throw new ScheduleConflictError(id, version, existing?.version ?? null);
    const next = change(existing, this.clock.now());
    const [written, actual] = await this.compareAndSet(next, version);
    if (!written) throw new ScheduleConflictError(id, version, actual < 0 ? null : actual);
    return next;
  }

  private async compareAndSet(entry: ScheduleEntry, expectedVersion: number): Promise<[boolean, number]> {
    const score = entry.enabled && entry.nextRunAt !== null ? String(entry.nextRunAt) : '';
    const [written, actual] = await scripts.scheduleCas.run<[number, number]>(
      this.connection,
      [this.entriesKey, this.dueKey],
      [entry.id, expectedVersion, JSON.stringify(entry), score],
    );
    return [Number(written) === 1, Number(actual)];
  }
}
