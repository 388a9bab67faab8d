import {
  type DeadLetterEntry,
  type DeadLetterFilter,
  deadLetterMatcher,
  type DeadLetterPage,
  type PurgeDeadLettersOptions,
  type ReplayOptions,
  type ReplayResult,
} from '../../core/contracts/broker.js';
import type { Envelope } from '../../core/envelope.js';
import { malformedPlaceholder } from '../../core/envelope-validator.js';
import { uuidv7 } from '../../core/utils/uuid.js';
import { encodeEnvelope, leaseField, priorityOf, queueScriptKeys } from './redis-envelope.codec.js';
import type { RedisConnection } from './redis.connection.js';
import type { QueueKeys, RedisKeys } from './redis.keys.js';
import { scripts } from './scripts/index.js';

/** Default retention of dead letters: 7 days. */
export const DEFAULT_DEAD_LETTER_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;
/** Old dead letters deleted per dead-letter write (the periodic sweep takes the rest). */
const SWEEP_ON_WRITE = 100;
const SWEEP_BATCH = 1_000;
/** Refs read per step when a selection scans the dead letters. */
const SCAN_BATCH = 500;
/** Above this many task ids, a selection scans the dead letters instead of looking each id up. */
const LOOKUP_IDS_MAX = 200;
/** Length of the dead-letter id that starts a ref (`<dead-letter id>:<task id>`). */
const DEAD_ID_LENGTH = 36;

/**
 * Builds the stored form of a dead letter. An entry JSON cannot carry (a BigInt, a cycle, nesting
 * too deep for `JSON.stringify`) is stored with a stand-in envelope and the error instead, so a
 * dead letter is never refused.
 */
export function encodeDeadLetter(entry: DeadLetterEntry): string {
  try {
    return JSON.stringify(entry);
  } catch (error) {
    const envelope = malformedPlaceholder(entry.envelope, { id: String(entry.envelope?.id ?? 'unknown'), queue: String(entry.envelope?.queue ?? 'unknown') });
    let meta: Record<string, unknown>;
    try {
      meta = { ...entry.meta, notStorable: (error as Error).message };
      JSON.stringify(meta);
    } catch {
      meta = { notStorable: (error as Error).message };
    }
    return JSON.stringify({ envelope, reason: entry.reason, meta, deadAt: entry.deadAt });
  }
}

function decodeDeadLetter(text: string | null | undefined): DeadLetterEntry | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as DeadLetterEntry;
  } catch {
    return null;
  }
}

/**
 * The dead-letter operations of {@link RedisStreamsBroker}, per queue: a ZSET of refs
 * (`<dead-letter id>:<task id>`) by dead-letter time, a HASH of entries by ref, and a by-task
 * index, so every dead letter is a record of its own (two entries sharing a task id never
 * overwrite each other) and a task id still finds its newest one. Dead letters older than the
 * retention are deleted on every write (a bounded batch) and by {@link RedisDeadLetters.sweep}.
 */
export class RedisDeadLetters {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    /** Dead letters older than this many ms are deleted; `Infinity` keeps them. */
    readonly retention: number = DEFAULT_DEAD_LETTER_RETENTION_MS,
  ) {}

  /**
   * Settles a delivery and stores its dead letter in one step.
   * @returns false when the receipt was stale (nothing was stored)
   */
  async write(keys: QueueKeys, priority: number, entryId: string, group: string, entry: DeadLetterEntry): Promise<boolean> {
    const cutoff = Number.isFinite(this.retention) ? Math.max(0, entry.deadAt - this.retention) : -1;
    const args = [group, priority, entryId, uuidv7(entry.deadAt), entry.envelope.id, encodeDeadLetter(entry), entry.deadAt, cutoff, SWEEP_ON_WRITE];
    return Number(await scripts.deadLetter.run(this.connection, queueScriptKeys(keys), args)) === 1;
  }

  /** Newest first, `limit` per page from `offset`. */
  async list(queue: string, options: { limit?: number; offset?: number } = {}): Promise<DeadLetterPage> {
    const limit = Math.max(0, options.limit ?? 50);
    const offset = Math.max(0, options.offset ?? 0);
    const keys = this.keys.queue(queue);
    const refs = await this.connection.command<string[]>('zrevrange', keys.dead, offset, offset + limit);
    const items = (await this.load(keys.deadEntries, refs.slice(0, limit))).map((x) => x.entry);
    return { items, ...(refs.length > limit ? { nextOffset: offset + limit } : {}) };
  }

  /** The newest dead letter of a task id. */
  async get(queue: string, id: string): Promise<DeadLetterEntry | null> {
    const keys = this.keys.queue(queue);
    const members = await this.connection.command<string[]>('zrangebylex', keys.deadIndex, `[${id}\0`, `(${id}\u0001`);
    const refs = members.filter((m) => m.length === id.length + 37).map((m) => `${m.slice(id.length + 1)}:${id}`);
    const loaded = await this.load(keys.deadEntries, refs.reverse());
    const found = loaded.find((x) => x.entry.envelope?.id === id)?.entry;
    // NOTE: dead letters stored before refs existed are keyed by task id alone.
    return found ?? decodeDeadLetter(await this.connection.command<string | null>('hget', keys.deadEntries, id));
  }

  /** Re-publishes the oldest matching entries (attempt + 1), optionally delayed; a dry run changes nothing. */
  async replay(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const keys = this.keys.queue(queue);
    const oldest = await this.oldest(queue, options, options.limit ?? 50);
    const entries = oldest.map((x) => x.entry);
    if (options.dryRun || entries.length === 0) return { entries, dryRun: options.dryRun ?? false };
    const notBefore = options.delay && options.delay > 0 ? Date.now() + options.delay : undefined;
    const args: (string | number)[] = [oldest.length];
    for (const { ref, entry } of oldest) {
      const replayed: Envelope = { ...entry.envelope, attempt: entry.envelope.attempt + 1, notBefore };
      const envelope = options.transform ? options.transform(replayed) : replayed;
      args.push(ref, priorityOf(envelope), leaseField(envelope), encodeEnvelope(envelope), notBefore ?? 0);
    }
    const replayed = new Set(await scripts.replayDeadLetters.run<string[]>(this.connection, queueScriptKeys(keys), args));
    return { entries: oldest.filter((x) => replayed.has(x.ref)).map((x) => x.entry), dryRun: false };
  }

  /**
   * Deletes entries (oldest first) matching the filters, at most `limit`. Without `ids` or
   * `reason`, one script selects and deletes; with them, the matching refs are selected first and
   * the script deletes those still there (a concurrent replay or purge may have taken some).
   */
  async purge(queue: string, options: PurgeDeadLettersOptions = {}): Promise<number> {
    const keys = this.keys.queue(queue);
    const limit = options.limit === undefined ? -1 : Math.max(0, options.limit);
    if (limit === 0) return 0;
    const dead = [keys.dead, keys.deadEntries, keys.deadIndex];
    if (options.ids === undefined && options.reason === undefined) {
      return scripts.purgeDeadLetters.run<number>(this.connection, dead, [options.since === undefined ? '-inf' : options.since, limit, '+inf']);
    }
    const refs = (await this.oldest(queue, options, limit < 0 ? Infinity : limit)).map((x) => x.ref);
    if (refs.length === 0) return 0;
    return Number(await scripts.purgeDeadLetterRefs.run(this.connection, dead, refs));
  }

  /** Deletes the dead letters of `queue` older than the retention; returns how many. */
  async sweep(queue: string, now = Date.now()): Promise<number> {
    if (!Number.isFinite(this.retention)) return 0;
    const keys = this.keys.queue(queue);
    const before = `(${Math.max(0, now - this.retention)}`;
    let total = 0;
    for (;;) {
      const n = Number(await scripts.purgeDeadLetters.run(this.connection, [keys.dead, keys.deadEntries, keys.deadIndex], ['-inf', SWEEP_BATCH, before]));
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /**
   * The oldest entries matching `filter`, at most `limit`, in the ZSET's order (dead-letter time,
   * then ref). A few task ids are looked up in the by-task index; otherwise the ZSET is read in
   * steps from `since`, refs of other task ids skipped before their entries are loaded.
   */
  private async oldest(queue: string, filter: DeadLetterFilter, limit: number): Promise<{ ref: string; entry: DeadLetterEntry }[]> {
    const keys = this.keys.queue(queue);
    if (limit <= 0 || filter.ids?.length === 0) return [];
    const matches = deadLetterMatcher(filter);
    if (filter.ids !== undefined && filter.ids.length <= LOOKUP_IDS_MAX) {
      const found = (await Promise.all([...new Set(filter.ids)].map((id) => this.refsOf(keys, id)))).flat();
      const entries = (await this.load(keys.deadEntries, found)).filter((x) => matches(x.entry));
      entries.sort((a, b) => a.entry.deadAt - b.entry.deadAt || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
      return entries.slice(0, limit);
    }
    const ids = filter.ids === undefined ? undefined : new Set(filter.ids);
    const out: { ref: string; entry: DeadLetterEntry }[] = [];
    const min = filter.since ?? '-inf';
    let offset = 0;
    while (out.length < limit) {
      const step = filter.ids === undefined && filter.reason === undefined ? Math.min(SCAN_BATCH, limit - out.length) : SCAN_BATCH;
      const refs = await this.connection.command<string[]>('zrangebyscore', keys.dead, min, '+inf', 'LIMIT', offset, step);
      offset += refs.length;
      const wanted = ids ? refs.filter((ref) => ids.has(taskIdOfRef(ref))) : refs;
      for (const x of await this.load(keys.deadEntries, wanted)) {
        if (out.length < limit && matches(x.entry)) out.push(x);
      }
      if (refs.length < step) break;
    }
    return out;
  }

  /** The refs of a task id's dead letters: those in the by-task index, and a ref stored before refs existed (the task id alone). */
  private async refsOf(keys: QueueKeys, id: string): Promise<string[]> {
    const [members, legacy] = await Promise.all([
      this.connection.command<string[]>('zrangebylex', keys.deadIndex, `[${id}\0`, `(${id}\u0001`),
      this.connection.command<string | null>('zscore', keys.dead, id),
    ]);
    const refs = members.filter((m) => m.length === id.length + 1 + DEAD_ID_LENGTH).map((m) => `${m.slice(id.length + 1)}:${id}`);
    return legacy === null ? refs : [...refs, id];
  }

  private async load(hash: string, refs: readonly string[]): Promise<{ ref: string; entry: DeadLetterEntry }[]> {
    if (refs.length === 0) return [];
    const texts = await this.connection.command<(string | null)[]>('hmget', hash, ...refs);
    const out: { ref: string; entry: DeadLetterEntry }[] = [];
    texts.forEach((text, i) => {
      const entry = decodeDeadLetter(text);
      if (entry) out.push({ ref: refs[i]!, entry });
    });
    return out;
  }
}

/** The task id of a ref (`<dead-letter id>:<task id>`, or the task id alone for refs stored before refs existed). */
function taskIdOfRef(ref: string): string {
  return ref.length > DEAD_ID_LENGTH && ref[DEAD_ID_LENGTH] === ':' ? ref.slice(DEAD_ID_LENGTH + 1) : ref;
}
