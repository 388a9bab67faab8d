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
import { type RecordArgsOption, type RecordedArgs, recordArgs, recordedArgsLimit } from '../../core/utils/recorded-args.js';
import { InMemoryStatusStats } from './in-memory.status-stats.js';

/** Options of {@link InMemoryResultBackend}. */
export interface InMemoryResultBackendOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Record each task's arguments with its `queued` status (shown by `getWithArgs`, searchable with `argsContain`). @default true (up to 4096 bytes of JSON) */
  readonly recordArgs?: RecordArgsOption;
}

/** One stored status. */
export interface InMemoryStatusEntry {
  status: TaskStatus;
  expiresAt: number;
  args?: RecordedArgs;
}

type Entry = InMemoryStatusEntry;

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
  private writesSinceSweep = 0;
  private sweepEvery = 10_000;

  constructor(options: InMemoryResultBackendOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.argsLimit = recordedArgsLimit(options.recordArgs);
  }

  async set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    const now = this.clock.now();
    let stored = this.entries.get(id);
    if (stored && stored.expiresAt <= now) {
      this.entries.delete(id);
      stored = undefined;
    }
    const previous = stored?.status;
    if (options.unlessTerminal && previous && isTerminalState(previous.state)) return;
    if (options.unlessAttemptReached && previous && previous.attempt >= update.attempt) return;
    // NOTE: store JSON copies, as the Redis and Postgres backends do, so a value they could not
    // store fails here too and later changes to the caller's objects do not leak into the status.
    let payload: unknown;
    let error: TaskError | undefined;
    let meta: Record<string, unknown> | undefined;
    try {
      payload = jsonCopy(update.payload);
      error = jsonCopy(update.error);
      meta = jsonCopy(update.meta);
    } catch (cause) {
      throw new StatusNotStorableError(id, this.name, cause);
    }
    const status: TaskStatus = {
      id,
      state: update.state,
      attempt: update.attempt,
      name: update.name ?? previous?.name,
      queue: update.queue ?? previous?.queue,
      payload,
      error,
      meta: meta ? { ...previous?.meta, ...meta } : (previous?.meta ?? {}),
      progress: previous?.progress,
      heartbeatAt: previous?.heartbeatAt,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    const args = recordArgs(update.args, this.argsLimit);
    const expiresAt = now + (options.ttl ?? this.defaultTtl);
    if (stored) {
      // NOTE: the entry is only ever reached through the map, so it is updated in place.
      stored.status = status;
      stored.expiresAt = expiresAt;
      if (args) stored.args = args;
    } else {
      const entry: Entry = { status, expiresAt };
      if (args) entry.args = args;
      this.entries.set(id, entry);
    }
    if (previous?.state !== status.state) this.countFinished(status, now);
    this.notify(status);
    if (++this.writesSinceSweep >= this.sweepEvery) this.sweep(now);
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= now) return;
    entry.status = {
      ...entry.status,
      ...(touch.progress ? { progress: touch.progress } : {}),
      ...(touch.heartbeatAt !== undefined ? { heartbeatAt: touch.heartbeatAt } : {}),
      ...(touch.meta ? { meta: { ...entry.status.meta, ...(JSON.parse(JSON.stringify(touch.meta)) as Record<string, unknown>) } } : {}),
      updatedAt: now,
    };
    this.notify(entry.status);
  }

  async get(id: string): Promise<TaskStatus | null> {
    return this.live(id, this.clock.now()) ?? null;
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

  protected live(id: string, now: number): TaskStatus | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.status;
  }

  private notify(status: TaskStatus): void {
    const set = this.watchers.get(status.id);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(status);
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
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(id);
    this.sweepEvery = Math.max(10_000, this.entries.size);
  }

  /** Appends to a meta array in one synchronous step (atomic in this process). */
  async appendMeta(id: string, key: string, values: readonly unknown[]): Promise<void> {
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= now || values.length === 0) return;
    const current = entry.status.meta[key];
    const added = JSON.parse(JSON.stringify(values)) as unknown[];
    entry.status = { ...entry.status, meta: { ...entry.status.meta, [key]: [...(Array.isArray(current) ? current : []), ...added] }, updatedAt: now };
    this.notify(entry.status);
  }
}

/** A JSON round trip of `value` (`undefined` stays `undefined`). */
function jsonCopy<T>(value: T): T {
  if (value === undefined || isJsonScalar(value)) return value;
  // NOTE: most statuses carry a flat object of scalars (meta, small results); a shallow copy of
  // it is what the round trip would give, without serialising it.
  if (isFlatScalarRecord(value)) return { ...value } as T;
  const text = JSON.stringify(value);
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

/** A string, boolean, null or finite number: the same after a JSON round trip. */
function isJsonScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** A plain object (no prototype other than Object's, no toJSON) whose own values are all JSON scalars. */
function isFlatScalarRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || key === 'toJSON' || !isJsonScalar((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
