import type { ScheduleEnqueueOptions, ScheduleEntry, ScheduleListFilter, ScheduleSource, ScheduleStore, ScheduleUpsert } from '../contracts/schedule-store.js';
import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import { ScheduleConflictError } from '../errors/schedule-conflict.error.js';
import { ScheduleNotFoundError } from '../errors/schedule-not-found.error.js';
import { type Clock, systemClock } from '../utils/clock.js';
import { type Duration, parseDuration } from './duration.js';
import { nextRun, upcomingRuns } from './schedule-calculator.js';
import { normalizeScheduleSpec, type ScheduleSpec, type ScheduleSpecInput } from './schedule-spec.js';

/** A schedule entry as callers write it (`@Schedule` metadata, the CLI, runtime code). */
export interface ScheduleInput {
  /** Unique id, e.g. `reports.daily`. */
  readonly id: string;
  /** Task name to enqueue. */
  readonly task: string;
  readonly args?: unknown;
  /** Enqueue options of every run (queue, priority, maxRetries, expires, ...). */
  readonly options?: ScheduleEnqueueOptions;
  /** When it runs; see {@link Schedules}. */
  readonly schedule: ScheduleSpecInput;
  /** IANA time zone for cron expressions. @default 'UTC' */
  readonly timezone?: string;
  /** @default true */
  readonly enabled?: boolean;
  /** Random delay of 0..`jitter` before each run. @default 0 */
  readonly jitter?: Duration;
  readonly description?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Options of {@link StemScheduler}. */
export interface StemSchedulerOptions {
  readonly store: ScheduleStore;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Options of {@link StemScheduler.syncDefinitions}. */
export interface SyncDefinitionsOptions {
  /** Remove code-defined entries that are no longer defined (runtime entries are never touched). @default true */
  readonly prune?: boolean;
}

/** What {@link StemScheduler.syncDefinitions} changed, by entry id. */
export interface SyncDefinitionsResult {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  readonly removed: string[];
}

const MAX_ATTEMPTS = 5;

/**
 * Manages schedule entries on a {@link ScheduleStore}: the API behind the injectable scheduler,
 * the CLI's `schedule` commands and `@Schedule` discovery. Entries persist in the store, so every
 * Beat replica sharing it sees them. Writes are optimistic and retried on conflicts.
 *
 * @example
 * const scheduler = new StemScheduler({ store });
 * await scheduler.add({ id: 'digest', task: 'email.digest', schedule: Schedules.cron('0 8 * * *'), timezone: 'Europe/London' });
 * await scheduler.disable('digest');
 */
export class StemScheduler {
  readonly store: ScheduleStore;
  private readonly clock: Clock;

  constructor(options: StemSchedulerOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Creates an entry, or replaces the definition of the entry with this id while keeping its run
   * history. The next run is recomputed when the entry is new, its spec or time zone changed, or
   * it is being enabled.
   * @throws InvalidScheduleError for a bad spec, time zone, jitter, id or task
   */
  add(input: ScheduleInput): Promise<ScheduleEntry> {
    return this.write(input, 'runtime', false).then((r) => r.entry);
  }

  /** Deletes an entry; `false` when there was none. */
  remove(id: string): Promise<boolean> {
    return this.store.remove(id);
  }

  /** One entry, or `null`. */
  get(id: string): Promise<ScheduleEntry | null> {
    return this.store.get(id);
  }

  /** Entries ordered by id. */
  list(filter?: ScheduleListFilter): Promise<ScheduleEntry[]> {
    return this.store.list(filter);
  }

  /**
   * Enables an entry; its next run is computed from now (runs missed while disabled are not
   * replayed). A clocked entry that already ran cannot be enabled again: add it with a new time.
   * @throws ScheduleNotFoundError
   */
  enable(id: string): Promise<ScheduleEntry> {
    return this.retry(id, async (entry) => {
      if (entry.enabled) return entry;
      const nextRunAt = this.firstRun(entry.spec, entry.timezone, entry);
      if (nextRunAt === null) {
        throw new InvalidScheduleError(id, 'it has no future run (a clocked entry that already ran, or an interval past endAt); add it again with a new time');
      }
      return this.store.reschedule(id, { version: entry.version, nextRunAt, enabled: true });
    });
  }

  /** Disables an entry: it is never due until enabled again. @throws ScheduleNotFoundError */
  disable(id: string): Promise<ScheduleEntry> {
    return this.retry(id, (entry) => (entry.enabled ? this.store.reschedule(id, { version: entry.version, nextRunAt: entry.nextRunAt, enabled: false }) : Promise.resolve(entry)));
  }

  /**
   * Upserts code-defined entries (e.g. every `@Schedule` found at bootstrap). Safe to call from
   * every replica on every boot:
   * - an unchanged definition is not written;
   * - a changed definition keeps the entry's run history (`lastRunAt`, `runCount`, ...); its
   *   next run and `enabled` flag are reset only when the spec or time zone changed, so a
   *   disable from the CLI survives a restart;
   * - with `prune` (default), code entries no longer defined are removed; entries added at run
   *   time are never touched.
   * @throws InvalidScheduleError before writing anything when a definition is invalid or two share an id
   */
  async syncDefinitions(inputs: readonly ScheduleInput[], options: SyncDefinitionsOptions = {}): Promise<SyncDefinitionsResult> {
    const seen = new Set<string>();
    for (const input of inputs) {
      this.toUpsert(input, 'code');
      if (seen.has(input.id)) throw new InvalidScheduleError(input.id, 'it is defined twice; schedule ids must be unique');
      seen.add(input.id);
    }
    const result: SyncDefinitionsResult = { created: [], updated: [], unchanged: [], removed: [] };
    for (const input of inputs) result[(await this.write(input, 'code', true)).outcome].push(input.id);
    if (options.prune ?? true) {
      for (const entry of await this.store.list({ source: 'code' })) {
        if (!seen.has(entry.id) && (await this.store.remove(entry.id))) result.removed.push(entry.id);
      }
    }
    return result;
  }

  /**
   * The next `count` runs of an entry (by id) or of an unsaved input, after `from`.
   * @throws ScheduleNotFoundError for an unknown id
   */
  async preview(target: string | ScheduleInput, count = 5, from: number = this.clock.now()): Promise<number[]> {
    if (typeof target !== 'string') {
      const upsert = this.toUpsert(target, 'runtime');
      return upcomingRuns(upsert.spec, from, count, upsert.timezone);
    }
    const entry = await this.store.get(target);
    if (!entry) throw new ScheduleNotFoundError(target);
    return upcomingRuns(entry.spec, from, count, entry.timezone);
  }

  private async write(input: ScheduleInput, source: ScheduleSource, keepRuntimeState: boolean): Promise<{ entry: ScheduleEntry; outcome: 'created' | 'updated' | 'unchanged' }> {
    const upsert = this.toUpsert(input, source);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.store.get(input.id);
      try {
        if (!existing) {
          const nextRunAt = upsert.enabled ? this.firstRun(upsert.spec, upsert.timezone) : null;
          const created = { ...upsert, enabled: upsert.enabled && nextRunAt !== null, nextRunAt };
          return { entry: await this.store.upsert(created, { expectedVersion: 0 }), outcome: 'created' };
        }
        const whenChanged = !sameJson([existing.spec, existing.timezone ?? 'UTC'], [upsert.spec, upsert.timezone ?? 'UTC']);
        const keepEnabled = keepRuntimeState && !whenChanged;
        const enabled = keepEnabled ? existing.enabled : upsert.enabled;
        const nextRunAt = !enabled
          ? existing.nextRunAt
          : whenChanged || !existing.enabled
            ? this.firstRun(upsert.spec, upsert.timezone, whenChanged ? undefined : existing)
            : existing.nextRunAt;
        // NOTE: an entry with no future run (a clocked entry that ran, an interval past endAt) is stored disabled.
        const next: ScheduleUpsert = { ...upsert, enabled: enabled && nextRunAt !== null, nextRunAt };
        if (sameJson(definitionOf(existing), definitionOf(next))) return { entry: existing, outcome: 'unchanged' };
        return { entry: await this.store.upsert(next, { expectedVersion: existing.version }), outcome: 'updated' };
      } catch (error) {
        if (!(error instanceof ScheduleConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  private async retry(id: string, change: (entry: ScheduleEntry) => Promise<ScheduleEntry>): Promise<ScheduleEntry> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.store.get(id);
      if (!entry) throw new ScheduleNotFoundError(id);
      try {
        return await change(entry);
      } catch (error) {
        if (!(error instanceof ScheduleConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** The first run from now: a clocked entry that never ran keeps its time even if it passed (Beat's catch-up policy decides). */
  private firstRun(spec: ScheduleSpec, timezone = 'UTC', ran?: ScheduleEntry): number | null {
    if (spec.kind === 'clocked') return ran && ran.runCount > 0 ? null : spec.runAt;
    try {
      return nextRun(spec, this.clock.now(), timezone, ran?.lastScheduledFor);
    } catch (error) {
      throw error instanceof InvalidScheduleError && ran ? new InvalidScheduleError(ran.id, error.reason, { cause: error }) : error;
    }
  }

  private toUpsert(input: ScheduleInput, source: ScheduleSource): Omit<ScheduleUpsert, 'nextRunAt'> {
    if (!input || typeof input.id !== 'string' || !input.id.trim()) throw new InvalidScheduleError(String(input?.id ?? '(unnamed)'), 'id must be a non-empty string');
    if (typeof input.task !== 'string' || !input.task.trim()) throw new InvalidScheduleError(input.id, 'task must be the name of a registered task');
    const timezone = input.timezone ?? 'UTC';
    const spec = normalizeScheduleSpec(input.schedule, input.id, timezone);
    const jitter = input.jitter === undefined ? undefined : parseDuration(input.jitter);
    if (jitter !== undefined && !(jitter >= 0))
      throw new InvalidScheduleError(input.id, `jitter ${JSON.stringify(input.jitter)} must be a non-negative duration such as 500 or '2s'`);
    if (input.jitter !== undefined && jitter === undefined)
      throw new InvalidScheduleError(input.id, `jitter ${JSON.stringify(input.jitter)} is not a duration; use ms or a string such as '2s'`);
    return stripUndefined({
      id: input.id,
      task: input.task,
      args: input.args,
      options: input.options,
      spec,
      timezone,
      enabled: input.enabled ?? true,
      jitter: jitter || undefined,
      description: input.description,
      source,
      meta: input.meta,
    });
  }
}

function definitionOf(e: ScheduleUpsert | ScheduleEntry): unknown {
  return [e.task, e.args, e.options, e.spec, e.timezone, e.enabled, e.jitter, e.description, e.source, e.meta, e.nextRunAt];
}

/** Deep equality of JSON values, ignoring object key order (stores such as Postgres JSONB reorder keys). */
function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
