import type { TaskError, TaskProgress, TaskState, TaskStatus } from '../../core/envelope.js';
import type { RecordedArgs } from '../../core/utils/recorded-args.js';

/**
 * One task's stored status in the in-memory result backend, updated in place by each write. Each
 * reader and watcher gets its own copy ({@link status}), so a status once read never changes under
 * its reader and a reader that changes it changes nothing stored, and a task whose statuses nobody
 * reads costs one object however often it is written.
 */
export class InMemoryStatusEntry {
  state: TaskState = 'queued';
  attempt = 0;
  name: string | undefined = undefined;
  queue: string | undefined = undefined;
  payload: unknown = undefined;
  error: TaskError | undefined = undefined;
  /** Never changed once stored (a write stores a new object) and never handed out; `undefined` is `{}`. */
  meta: Readonly<Record<string, unknown>> | undefined = undefined;
  progress: TaskProgress | undefined = undefined;
  heartbeatAt: number | undefined = undefined;
  updatedAt: number;
  expiresAt = 0;
  /** The recorded arguments' JSON, or their size in bytes when they were too large (see {@link RecordedArgs}). */
  argsJson: string | undefined = undefined;
  argsTruncated: number | undefined = undefined;

  constructor(
    readonly id: string,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
  }

  /** A copy of the status as of the last write (a new object per call, nothing shared with the entry). */
  status(): TaskStatus {
    return {
      id: this.id,
      state: this.state,
      attempt: this.attempt,
      name: this.name,
      queue: this.queue,
      payload: jsonCopy(this.payload),
      error: jsonCopy(this.error),
      meta: this.meta ? jsonCopy(this.meta) : {},
      progress: jsonCopy(this.progress),
      heartbeatAt: this.heartbeatAt,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
    };
  }

  /** The recorded arguments, if any. */
  get args(): RecordedArgs | undefined {
    if (this.argsJson !== undefined) return { json: this.argsJson };
    return this.argsTruncated !== undefined ? { truncated: this.argsTruncated } : undefined;
  }

  /** Records `args` (a write without arguments keeps the recorded ones). */
  recordArgs(args: RecordedArgs | undefined): void {
    if (!args) return;
    if ('json' in args) {
      this.argsJson = args.json;
      this.argsTruncated = undefined;
    } else {
      this.argsJson = undefined;
      this.argsTruncated = args.truncated;
    }
  }

  /** Call after changing any field. */
  changed(now: number): void {
    this.updatedAt = now;
  }
}

/** How many distinct metas {@link MetaMerger} shares at once. */
const SHARED_METAS = 4;

/**
 * Merges JSON copies of meta written over the stored meta. Statuses of one kind of task mostly
 * carry the same few metas (the args encoder when queued, then the result encoder too), so a
 * merged meta of scalars equal to one of the last few stored shares that object: entries never
 * hand their meta out (readers get copies), so sharing is safe.
 */
export class MetaMerger {
  private readonly shared: { meta: Readonly<Record<string, unknown>>; keys: readonly string[] }[] = [];
  private next = 0;

  /** `previous` with `update` merged over it (`undefined`: empty). @throws when `update` is not JSON */
  merge(previous: Readonly<Record<string, unknown>> | undefined, update: Record<string, unknown> | undefined): Readonly<Record<string, unknown>> | undefined {
    if (update === undefined) return previous;
    const keys = flatScalarKeys(update);
    if (keys < 0) {
      const copy = jsonCopy(update);
      return previous ? { ...previous, ...copy } : copy;
    }
    if (keys === 0) return previous;
    if (!previous) return this.share(update, keys, true);
    const merged = { ...previous, ...update };
    const count = flatScalarKeys(merged);
    return count < 0 ? merged : this.share(merged, count, false);
  }

  /** The shared meta equal to `meta` (a flat record of `keys` scalars), else a new shared one (`meta` itself unless `copy`). */
  private share(meta: Record<string, unknown>, keys: number, copy: boolean): Readonly<Record<string, unknown>> {
    for (const entry of this.shared) if (entry.keys.length === keys && sameFlatRecord(meta, entry.meta, entry.keys)) return entry.meta;
    const stored = copy ? { ...meta } : meta;
    const entry = { meta: stored, keys: Object.keys(stored) };
    if (this.shared.length < SHARED_METAS) this.shared.push(entry);
    else this.shared[this.next] = entry;
    this.next = (this.next + 1) % SHARED_METAS;
    return stored;
  }
}

/** A JSON round trip of `value` (`undefined` stays `undefined`). */
export function jsonCopy<T>(value: T): T {
  if (value === undefined || isJsonScalar(value)) return value;
  // NOTE: most statuses carry a flat object of scalars (meta, small results); a shallow copy of
  // it is what the round trip would give, without serialising it.
  if (isFlatScalarRecord(value)) return { ...(value as Record<string, unknown>) } as T;
  const text = JSON.stringify(value);
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

/** A string, boolean, null or finite number: the same after a JSON round trip. */
function isJsonScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** A plain object (no prototype other than Object's, no toJSON) whose own values are all JSON scalars. */
function isFlatScalarRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && flatScalarKeys(value as Record<string, unknown>) >= 0;
}

/** How many keys `value` has when it is a flat record of JSON scalars (see {@link isFlatScalarRecord}), else -1. */
function flatScalarKeys(value: Record<string, unknown>): number {
  if (Object.getPrototypeOf(value) !== Object.prototype) return -1;
  let keys = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || key === 'toJSON' || !isJsonScalar(value[key])) return -1;
    keys++;
  }
  return keys;
}

/** Same keys in the same order with the same values (`keys`: those of `b`, a flat record of scalars). */
function sameFlatRecord(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in a) {
    if (keys[i] !== key || !Object.is(a[key], b[key])) return false;
    i++;
  }
  return i === keys.length;
}
