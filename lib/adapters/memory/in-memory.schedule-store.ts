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

/**
 * Schedule entries held in this process. Share one instance between Beat replicas in a test to
 * model a shared store; entries are copied in and out, so callers never alias stored state.
 */
export class InMemoryScheduleStore implements ScheduleStore {
  readonly name = 'memory';
  private readonly entries = new Map<string, ScheduleEntry>();
  private readonly clock: Clock;

  /** @param options.clock stamps `createdAt`/`updatedAt` @default systemClock */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async upsert(entry: ScheduleUpsert, options: ScheduleUpsertOptions = {}): Promise<ScheduleEntry> {
    const existing = this.entries.get(entry.id) ?? null;
    if (options.expectedVersion !== undefined && (existing?.version ?? 0) !== options.expectedVersion) {
      throw new ScheduleConflictError(entry.id, options.expectedVersion, existing?.version ?? null);
    }
    return this.put(ScheduleRecords.upsert(existing, structuredClone(entry), this.clock.now()));
  }

  async remove(id: string): Promise<boolean> {
    return this.entries.delete(id);
  }

  async get(id: string): Promise<ScheduleEntry | null> {
    const entry = this.entries.get(id);
    return entry ? structuredClone(entry) : null;
  }

  async list(filter: ScheduleListFilter = {}): Promise<ScheduleEntry[]> {
    return [...this.entries.values()]
      .filter((e) => (filter.enabled === undefined || e.enabled === filter.enabled) && (filter.source === undefined || e.source === filter.source))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((e) => structuredClone(e));
  }

  async due(now: number, limit = 100): Promise<ScheduleEntry[]> {
    return [...this.entries.values()]
      .filter((e) => e.enabled && e.nextRunAt !== null && e.nextRunAt <= now)
      .sort((a, b) => a.nextRunAt! - b.nextRunAt! || (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async markExecuted(id: string, execution: ScheduleExecution): Promise<ScheduleEntry> {
    return this.put(ScheduleRecords.execute(this.expect(id, execution.version), execution, this.clock.now()));
  }

  async reschedule(id: string, change: ScheduleReschedule): Promise<ScheduleEntry> {
    return this.put(ScheduleRecords.reschedule(this.expect(id, change.version), change, this.clock.now()));
  }

  async close(): Promise<void> {}

  private expect(id: string, version: number): ScheduleEntry {
    const existing = this.entries.get(id);
    if (!existing || existing.version !== version) throw new ScheduleConflictError(id, version, existing?.version ?? null);
    return existing;
  }

  private put(entry: ScheduleEntry): ScheduleEntry {
    this.entries.set(entry.id, entry);
    return structuredClone(entry);
  }
}
