import type {
  ResultBackend,
  SetStatusOptions,
  StatusWatch,
  TaskStatusListRequest,
  TaskStatusPage,
  TaskStatusTouch,
  TaskStatusUpdate,
} from '../../core/contracts/result-backend.js';
import { isTerminalState, type TaskError, type TaskStatus } from '../../core/envelope.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { type RecordArgsOption, recordArgs, recordedArgsLimit } from '../../core/utils/recorded-args.js';
import { InMemoryStatusEntry, jsonCopy, MetaMerger } from './in-memory.status-record.js';
import { InMemoryStatusStats } from './in-memory.status-stats.js';

export { InMemoryStatusEntry } from './in-memory.status-record.js';

/** Options of {@link InMemoryResultBackend}. */
export interface InMemoryResultBackendOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Record each task's arguments with its `queued` status (shown by `getWithArgs`, searchable with `argsContain`). @default true (up to 4096 bytes of JSON) */
  readonly recordArgs?: RecordArgsOption;
}

type Entry = InMemoryStatusEntry;

/** What every successful `set` returns. */
const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Statuses kept in a Map in this process (the embedded default). Expired statuses vanish on read
 * and are swept as new ones are written.
 */
export class InMemoryResultBackend extends InMemoryStatusStats implements ResultBackend {
  readonly name = 'memory';
  protected readonly clock: Clock;
  private readonly defaultTtl: number;
  protected readonly argsLimit: number;
  protected readonly entries = new Map<string, Entry>();
  private readonly watchers = new Map<string, Set<(status: TaskStatus) => void>>();
  private readonly metaMerger = new MetaMerger();
  private writesSinceSweep = 0;
  private sweepEvery = 10_000;

  constructor(options: InMemoryResultBackendOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.argsLimit = recordedArgsLimit(options.recordArgs);
  }

  set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    // NOTE: the write is synchronous; one settled promise serves every call instead of an async
    // function's own per write (three per task), and a refused write still rejects.
    try {
      this.write(id, update, options);
      return WRITTEN;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private write(id: string, update: TaskStatusUpdate, options: SetStatusOptions): void {
    const now = this.clock.now();
    let entry = this.entries.get(id);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(id);
      entry = undefined;
    }
    if (options.unlessTerminal && entry && isTerminalState(entry.state)) return;
    if (options.unlessAttemptReached && entry && entry.attempt >= update.attempt) return;
    // NOTE: store JSON copies, as the Redis and Postgres backends do, so a value they could not
    // store fails here too and later changes to the caller's objects do not leak into the status.
    let payload: unknown;
    let error: TaskError | undefined;
    let meta: Readonly<Record<string, unknown>> | undefined;
    try {
      payload = jsonCopy(update.payload);
      error = jsonCopy(update.error);
      meta = this.metaMerger.merge(entry?.meta, update.meta);
    } catch (cause) {
      throw new StatusNotStorableError(id, this.name, cause);
    }
    const previousState = entry?.state;
    if (!entry) this.entries.set(id, (entry = new InMemoryStatusEntry(id, now)));
    // NOTE: the entry is only ever reached through the map, so it is updated in place.
    entry.state = update.state;
    entry.attempt = update.attempt;
    if (update.name !== undefined) entry.name = update.name;
    if (update.queue !== undefined) entry.queue = update.queue;
    entry.payload = payload;
    entry.error = error;
    entry.meta = meta;
    entry.expiresAt = now + (options.ttl ?? this.defaultTtl);
    entry.recordArgs(recordArgs(update.args, this.argsLimit));
    entry.changed(now);
    if (previousState !== entry.state) this.countFinished(entry.state, entry.queue, now);
    this.notify(entry);
    if (++this.writesSinceSweep >= this.sweepEvery) this.sweep(now);
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= now) return;
    if (touch.progress) entry.progress = jsonCopy(touch.progress);
    if (touch.heartbeatAt !== undefined) entry.heartbeatAt = touch.heartbeatAt;
    if (touch.meta) entry.meta = { ...entry.meta, ...(JSON.parse(JSON.stringify(touch.meta)) as Record<string, unknown>) };
    entry.changed(now);
    this.notify(entry);
  }

  async get(id: string): Promise<TaskStatus | null> {
    return this.live(id, this.clock.now())?.status() ?? null;
  }

  async watch(id: string, listener: (status: TaskStatus) => void): Promise<StatusWatch> {
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    const wrapped = (status: TaskStatus) => listener(status);
    set.add(wrapped);
    return {
      close: async () => {
        set.delete(wrapped);
        if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
      },
    };
  }

  async listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    return this.searchStatuses(request);
  }

  async expire(id: string, ttl: number): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) entry.expiresAt = this.clock.now() + ttl;
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  protected live(id: string, now: number): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  private notify(entry: Entry): void {
    if (this.watchers.size === 0) return;
    const set = this.watchers.get(entry.id);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(entry.status());
      } catch {
        // NOTE: a throwing watcher must not fail the write that triggered it.
      }
    }
  }

  /**
   * Drops expired entries. A sweep walks every entry, so the next one waits for as many writes as
   * entries are left (at least 10,000): constant work per write, and the map holds at most about
   * twice the live statuses plus 10,000.
   */
  private sweep(now: number): void {
    this.writesSinceSweep = 0;
    for (const entry of this.entries.values()) if (entry.expiresAt <= now) this.entries.delete(entry.id);
    this.sweepEvery = Math.max(10_000, this.entries.size);
  }

  /** Appends to a meta array in one synchronous step (atomic in this process). */
  async appendMeta(id: string, key: string, values: readonly unknown[]): Promise<void> {
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= now || values.length === 0) return;
    const current = entry.meta?.[key];
    const added = JSON.parse(JSON.stringify(values)) as unknown[];
    entry.meta = { ...entry.meta, [key]: [...(Array.isArray(current) ? current : []), ...added] };
    entry.changed(now);
    this.notify(entry);
  }
}
