import type { TaskSearchRequest, TaskStatusWithArgs } from '../../core/contracts/introspection.js';
import type { TaskStatusPage } from '../../core/contracts/result-backend.js';
import type { TaskStatus } from '../../core/envelope.js';
import { ArgsSearchUnsupportedError } from '../../core/errors/args-search-unsupported.error.js';
import { decodeStatus } from './redis-status.codec.js';
import { scripts } from './scripts/index.js';
import type { RedisConnection } from './redis.connection.js';
import type { RedisKeys } from './redis.keys.js';
import { ARGS_FIELD, ARGS_TRUNCATED_FIELD } from './redis.status-write.js';

/** Id-prefix candidates read from the id index at most; a prefix matching more walks the listing indexes instead. */
const PREFIX_CANDIDATES = 10_000;
/** Up to this many candidates, each one's status is read; above, they are ordered by their listing-index scores first and read a page at a time. */
const PREFIX_READ_ALL = 200;
/** Entries of a deep page within this distance of the page are read (exact); farther ones are skipped by index position. */
const EXACT_SKIP = 200;

interface IndexSource {
  readonly queue: string;
  /** The state the index holds, for the per-state indexes. */
  readonly state?: string;
  readonly key: string;
  /** Rank of the next entry to read. */
  next: number;
  buffer: { id: string; score: number }[];
  done: boolean;
}

/**
 * Walks several listing indexes at once, most recently updated first (a k-way merge of
 * ZREVRANGE pages).
 */
class StatusIndexMerge {
  private readonly sources: IndexSource[];

  constructor(
    private readonly connection: RedisConnection,
    indexes: readonly { queue: string; state?: string; key: string }[],
    /** Entries read per index and per step; may change between steps. */
    public chunk: number,
  ) {
    this.sources = indexes.map((index) => ({ ...index, next: 0, buffer: [], done: false }));
  }

  /** The next up to `chunk` ids in merged order; `[]` at the end. */
  async next(): Promise<{ id: string; source: IndexSource }[]> {
    const out: { id: string; source: IndexSource }[] = [];
    while (out.length < this.chunk) {
      await Promise.all(this.sources.filter((s) => !s.done && s.buffer.length === 0).map((s) => this.refill(s)));
      let best: IndexSource | undefined;
      for (const s of this.sources) if (s.buffer.length > 0 && (!best || s.buffer[0]!.score > best.buffer[0]!.score)) best = s;
      if (!best) break;
      out.push({ id: best.buffer.shift()!.id, source: best });
    }
    return out;
  }

  /**
   * Skips up to `n` entries from the top of the merged order without reading them: a script
   * (status-skip) finds the lowest score such that the entries at or above it are at most `n`,
   * and every index starts below it. Entries are ordered by score first, so those are exactly
   * the first ones of the merged order. Returns how many were skipped; the caller skips the rest
   * (entries sharing the score where the count crosses `n`) by reading them.
   */
  async skip(n: number): Promise<number> {
    if (n <= 0 || this.sources.some((s) => s.done || s.next !== 0 || s.buffer.length > 0)) return 0;
    const ranks = await scripts.statusSkip.run<number[]>(
      this.connection,
      this.sources.map((s) => s.key),
      [n],
    );
    this.sources.forEach((s, i) => (s.next = Number(ranks[i] ?? 0)));
    return this.sources.reduce((total, s) => total + s.next, 0);
  }

  /** Drops ids whose status expired or moved, keeping the read positions right. */
  async remove(entries: readonly { id: string; source: IndexSource }[]): Promise<void> {
    const bySource = new Map<IndexSource, string[]>();
    for (const { id, source } of entries) bySource.set(source, [...(bySource.get(source) ?? []), id]);
    await Promise.all(
      [...bySource].map(async ([source, ids]) => {
        const removed = Number(await this.connection.command('zrem', source.key, ...ids));
        source.next -= Math.min(removed, ids.length);
      }),
    );
  }

  private async refill(source: IndexSource): Promise<void> {
    const flat = await this.connection.command<string[]>('zrevrange', source.key, source.next, source.next + this.chunk - 1, 'WITHSCORES');
    for (let i = 0; i + 1 < flat.length; i += 2) source.buffer.push({ id: flat[i]!, score: Number(flat[i + 1]) });
    source.next += flat.length / 2;
    if (flat.length / 2 < this.chunk) source.done = true;
  }
}

/**
 * Listing and search over the Redis listing indexes: a state filter walks the per-state indexes
 * (so a page of `failed` among a million `succeeded` reads only failed ids), an id prefix reads
 * the id index when few ids match. Ids whose status expired or moved are dropped from the index
 * as they are met.
 */
export class RedisStatusListing {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  async search(request: TaskSearchRequest): Promise<TaskStatusPage> {
    if (request.argsContain !== undefined) throw new ArgsSearchUnsupportedError('redis');
    const limit = Math.max(0, request.limit ?? 50);
    const offset = Math.max(0, request.offset ?? 0);
    const prefix = request.idPrefix ?? '';
    if (prefix !== '') {
      const page = await this.searchByIdIndex(request, prefix, limit, offset);
      if (page) return page;
    }
    const queues = request.queue !== undefined ? [request.queue] : await this.connection.command<string[]>('smembers', this.keys.statusIndexQueues);
    const state = request.state;
    const indexes = queues.map((queue) =>
      state !== undefined ? { queue, state, key: this.keys.statusIndexState(state, queue) } : { queue, key: this.keys.statusIndexQueue(queue) },
    );
    // NOTE: ids are read in big chunks when most are dropped unread (an id prefix filters them
    // before their hashes are read; a deep page skips them by position).
    let blind = request.name === undefined && prefix === '' ? Math.max(0, offset - EXACT_SKIP) : 0;
    const chunk = prefix !== '' || blind > 0 ? 1_000 : Math.min(Math.max((offset + limit + 1) * 2, 100), 1_000);
    const merged = new StatusIndexMerge(this.connection, indexes, chunk);
    // NOTE: with only the index's own filters, entries far before the page are skipped by position
    // without reading them (\`blind\`): a deep page is fast, and off by the statuses that expired early.
    const items: TaskStatus[] = [];
    const seen = new Set<string>();
    let skipped = blind;
    if (blind > 0) {
      blind -= await merged.skip(blind);
      // NOTE: what is left to skip (entries sharing one score) is read; the chunk fits it and the page.
      merged.chunk = Math.min(Math.max((blind + limit + 1) * 2, 100), 1_000);
    }
    let more = false;
    while (!more) {
      let batch = await merged.next();
      if (batch.length === 0) break;
      if (blind > 0) {
        const drop = Math.min(blind, batch.length);
        blind -= drop;
        batch = batch.slice(drop);
        if (batch.length === 0) continue;
      }
      if (prefix !== '') batch = batch.filter(({ id }) => id.startsWith(prefix));
      const hashes = await Promise.all(batch.map(({ id }) => this.connection.command<string[]>('hgetall', this.keys.status(id))));
      const stale: { id: string; source: IndexSource }[] = [];
      for (let i = 0; i < batch.length && !more; i++) {
        const { id, source } = batch[i]!;
        const status = decodeStatus(id, hashes[i]!);
        if (!status || (status.queue ?? '') !== source.queue || (source.state !== undefined && status.state !== source.state)) {
          stale.push(batch[i]!);
          continue;
        }
        if (seen.has(id)) continue;
        seen.add(id);
        if (!matches(status, request)) continue;
        if (skipped < offset) skipped++;
        else if (items.length < limit) items.push(status);
        else more = true;
      }
      await merged.remove(stale);
    }
    return { items, ...(more ? { nextOffset: offset + items.length } : {}) };
  }

  async getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    const hash = await this.connection.command<Record<string, string> | string[]>('hgetall', this.keys.status(id));
    const status = decodeStatus(id, hash);
    if (!status) return null;
    const fields: Record<string, string | undefined> = Array.isArray(hash) ? {} : hash;
    if (Array.isArray(hash)) for (let i = 0; i + 1 < hash.length; i += 2) fields[hash[i]!] = hash[i + 1];
    const args = fields[ARGS_FIELD];
    const truncated = fields[ARGS_TRUNCATED_FIELD];
    if (args) return { ...status, args: JSON.parse(args) as unknown };
    return truncated ? { ...status, argsTruncated: Number(truncated) } : status;
  }

  /**
   * The statuses whose ids start with `prefix`, from the id index, when at most
   * {@link PREFIX_CANDIDATES} ids do; `undefined` when more do (the caller walks the listing
   * indexes, where such a common prefix matches densely). A few candidates are read whole; more
   * are ordered by their scores in the listing indexes the request reads (one ZMSCORE per index),
   * and only as many statuses are read as the page needs.
   */
  private async searchByIdIndex(request: TaskSearchRequest, prefix: string, limit: number, offset: number): Promise<TaskStatusPage | undefined> {
    const low = Buffer.from(`[${prefix}`);
    const high = Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    if (Number(await this.connection.command<number>('zlexcount', this.keys.statusIndexIds, low, high)) > PREFIX_CANDIDATES) return undefined;
    const ids = await this.connection.command<string[]>('zrangebylex', this.keys.statusIndexIds, low, high, 'LIMIT', 0, PREFIX_CANDIDATES);
    if (ids.length > PREFIX_READ_ALL) return this.searchByScores(request, ids, limit, offset);
    const hashes = await Promise.all(ids.map((id) => this.connection.command<string[]>('hgetall', this.keys.status(id))));
    const gone: string[] = [];
    const found: TaskStatus[] = [];
    ids.forEach((id, i) => {
      const status = decodeStatus(id, hashes[i]!);
      if (!status) gone.push(id);
      else if (matches(status, request)) found.push(status);
    });
    if (gone.length > 0) await this.connection.command('zrem', this.keys.statusIndexIds, ...gone);
    found.sort(newestFirst);
    const items = found.slice(offset, offset + limit);
    return { items, ...(offset + items.length < found.length ? { nextOffset: offset + items.length } : {}) };
  }

  /**
   * Orders candidate ids by their scores in the listing indexes the request reads (its queue's,
   * or every queue's; the per-state ones with a state filter), newest first, and reads their
   * statuses a slice at a time until the page is full. An id in no such index is not listed
   * (its status expired, or has another state or queue).
   */
  private async searchByScores(request: TaskSearchRequest, ids: readonly string[], limit: number, offset: number): Promise<TaskStatusPage> {
    const queues = request.queue !== undefined ? [request.queue] : await this.connection.command<string[]>('smembers', this.keys.statusIndexQueues);
    const keys = queues.map((queue) => (request.state !== undefined ? this.keys.statusIndexState(request.state, queue) : this.keys.statusIndexQueue(queue)));
    const scores = await Promise.all(keys.map((key) => this.connection.command<(string | null)[]>('zmscore', key, ...ids)));
    const ranked: { id: string; score: number }[] = [];
    ids.forEach((id, i) => {
      let best: number | undefined;
      for (const column of scores) {
        const score = column[i];
        if (score !== null && score !== undefined && (best === undefined || Number(score) > best)) best = Number(score);
      }
      if (best !== undefined) ranked.push({ id, score: best });
    });
    ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const found: TaskStatus[] = [];
    const want = offset + limit + 1;
    for (let at = 0; at < ranked.length && found.length < want;) {
      const slice = ranked.slice(at, at + Math.max(10, Math.ceil((want - found.length) * 1.2)));
      at += slice.length;
      const hashes = await Promise.all(slice.map(({ id }) => this.connection.command<string[]>('hgetall', this.keys.status(id))));
      slice.forEach(({ id }, i) => {
        const status = decodeStatus(id, hashes[i]!);
        if (status && matches(status, request)) found.push(status);
      });
    }
    found.sort(newestFirst);
    const items = found.slice(offset, offset + limit);
    return { items, ...(offset + items.length < found.length ? { nextOffset: offset + items.length } : {}) };
  }
}

/** Most recently updated first, then by id (descending), as the listing indexes read. */
function newestFirst(a: TaskStatus, b: TaskStatus): number {
  return b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function matches(s: TaskStatus, request: TaskSearchRequest): boolean {
  return (
    (request.state === undefined || s.state === request.state) &&
    (request.queue === undefined || s.queue === request.queue) &&
    (request.name === undefined || s.name === request.name) &&
    (request.idPrefix === undefined || s.id.startsWith(request.idPrefix))
  );
}
