import type { DeadLetterEntry, DeadLetterPage, PurgeDeadLettersOptions, ReplayOptions, ReplayResult } from '../../core/contracts/broker.js';
import type { Envelope } from '../../core/envelope.js';
import { encodeEnvelope, leaseField, priorityOf, queueScriptKeys } from './redis-envelope.codec.js';
import type { RedisConnection } from './redis.connection.js';
import type { RedisKeys } from './redis.keys.js';
import { scripts } from './scripts/index.js';

/** Builds the stored form of a dead letter. */
export function encodeDeadLetter(entry: DeadLetterEntry): string {
  return JSON.stringify(entry);
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
 * The dead-letter operations of {@link RedisStreamsBroker}: a ZSET of task ids by dead-letter
 * time plus a HASH of entries, per queue.
 */
export class RedisDeadLetters {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  /** Newest first, `limit` per page from `offset`. */
  async list(queue: string, options: { limit?: number; offset?: number } = {}): Promise<DeadLetterPage> {
    const limit = Math.max(0, options.limit ?? 50);
    const offset = Math.max(0, options.offset ?? 0);
    const keys = this.keys.queue(queue);
    const ids = await this.connection.command<string[]>('zrevrange', keys.dead, offset, offset + limit);
    const items = await this.load(keys.deadEntries, ids.slice(0, limit));
    return { items, ...(ids.length > limit ? { nextOffset: offset + limit } : {}) };
  }

  /** One entry by task id. */
  async get(queue: string, id: string): Promise<DeadLetterEntry | null> {
    const keys = this.keys.queue(queue);
    return decodeDeadLetter(await this.connection.command<string | null>('hget', keys.deadEntries, id));
  }

  /** Re-publishes the oldest entries (attempt + 1), optionally delayed; a dry run changes nothing. */
  async replay(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const keys = this.keys.queue(queue);
    const entries = await this.oldest(queue, options.since, options.limit ?? 50);
    if (options.dryRun || entries.length === 0) return { entries, dryRun: options.dryRun ?? false };
    const notBefore = options.delay && options.delay > 0 ? Date.now() + options.delay : undefined;
    const args: (string | number)[] = [entries.length];
    for (const entry of entries) {
      const replayed: Envelope = { ...entry.envelope, attempt: entry.envelope.attempt + 1, notBefore };
      const envelope = options.transform ? options.transform(replayed) : replayed;
      args.push(envelope.id, priorityOf(envelope), leaseField(envelope), encodeEnvelope(envelope), notBefore ?? 0);
    }
    const replayed = new Set(await scripts.replayDeadLetters.run<string[]>(this.connection, queueScriptKeys(keys), args));
    return { entries: entries.filter((entry) => replayed.has(entry.envelope.id)), dryRun: false };
  }

  /** Deletes entries (oldest first), optionally only those since a time and at most `limit`. */
  async purge(queue: string, options: PurgeDeadLettersOptions = {}): Promise<number> {
    const keys = this.keys.queue(queue);
    const since = options.since === undefined ? '-inf' : options.since;
    const limit = options.limit === undefined ? -1 : Math.max(0, options.limit);
    if (limit === 0) return 0;
    return scripts.purgeDeadLetters.run<number>(this.connection, [keys.dead, keys.deadEntries], [since, limit]);
  }

  private async oldest(queue: string, since: number | undefined, limit: number): Promise<DeadLetterEntry[]> {
    const keys = this.keys.queue(queue);
    if (limit <= 0) return [];
    const ids = await this.connection.command<string[]>('zrangebyscore', keys.dead, since ?? '-inf', '+inf', 'LIMIT', 0, limit);
    return this.load(keys.deadEntries, ids);
  }

  private async load(hash: string, ids: readonly string[]): Promise<DeadLetterEntry[]> {
    if (ids.length === 0) return [];
    const texts = await this.connection.command<(string | null)[]>('hmget', hash, ...ids);
    return texts.map(decodeDeadLetter).filter((entry): entry is DeadLetterEntry => entry !== null);
  }
}
