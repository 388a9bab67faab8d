import type {
  ResultBackend,
  SetStatusOptions,
  StatusWatch,
  TaskStatusListRequest,
  TaskStatusPage,
  TaskStatusTouch,
  TaskStatusUpdate,
} from '../../core/contracts/result-backend.js';
import type { TaskStatus } from '../../core/envelope.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { decodeStatus, metaPairs } from './redis-status.codec.js';
import { BatchItemFailure, Batcher } from './redis.batcher.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { scripts } from './scripts/index.js';
import { resolveRedisUrl } from './redis.url.js';
import { encodeStatusWrite, packable, packedStatusHead, packStatusWrite, type RedisStatusTarget, registerStatusTarget, type StatusWrite } from './redis.status-write.js';

/** Options of {@link RedisResultBackend.connect}. */
export interface RedisResultBackendOptions extends RedisConnectionOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
}

/** Index entries older than the default TTL are pruned every this many batches. */
const PRUNE_EVERY = 200;
/** How long a watch marks a status as watched if its process dies without closing it. */
const WATCH_MARK_TTL = 86_400_000;

/** Replies about the server's state (loading, busy, failing over, out of memory), not about one write. */
const SERVER_STATE_REPLY = /^(LOADING|BUSY|OOM|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|NOREPLICAS|NOSCRIPT|MISCONF)\b/;

/**
 * An error Redis replied with because of the values it was given (a script or a command refused
 * its input): neither a lost connection nor a server that is loading, busy or failing over.
 */
function isRefusal(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return e?.name === 'ReplyError' && !SERVER_STATE_REPLY.test(e.message ?? '');
}

/**
 * A {@link ResultBackend} on Redis. Each status is a HASH `<prefix>:result:{id}` with a TTL. While
 * a status is watched (a counter key next to it exists), every write is published on
 * `<prefix>:status:{id}`, so `watch` and `waitForTask` work across processes. `listStatuses`
 * walks one ZSET index by updatedAt per queue (merged when no queue is asked for), dropping
 * expired ids as it goes.
 *
 * Writes issued in the same event-loop turn go out as one script call on a standalone server.
 *
 * @example
 * const backend = await RedisResultBackend.connect('redis://127.0.0.1:6379');
 * const watch = await backend.watch(taskId, (status) => console.log(status.state));
 */
export class RedisResultBackend implements ResultBackend {
  readonly name = 'redis';
  private readonly keys: RedisKeys;
  private readonly subscriber: RedisSubscriber;
  private readonly defaultTtl: number;
  private readonly writes: Batcher<StatusWrite>;
  private batches = 0;
  private readonly target: RedisStatusTarget;
  private closing: Promise<void> | undefined;

  /** The command connection (auto-pipelined, shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisResultBackendOptions,
  ) {
    const connection = (this.connection = shared.connection);
    this.keys = new RedisKeys(options.prefix ?? 'stem');
    this.subscriber = new RedisSubscriber(() => connection.duplicate({ enableAutoPipelining: false }));
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.writes = new Batcher((batch) => this.flush(batch), 200);
    this.target = {
      connection,
      keys: this.keys,
      defaultTtl: this.defaultTtl,
      set: (id, update, options) => this.set(id, update, options),
      pruneHorizon: (now) => this.pruneHorizon(now),
    };
    registerStatusTarget(this, this.target);
  }

  /**
   * Connects to Redis and returns a result backend.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisResultBackendOptions = {}): Promise<RedisResultBackend> {
    const target = resolveRedisUrl(url, options);
    return new RedisResultBackend(await Connection.share(target.url, target.options), target.options);
  }

  async set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    await this.writes.add(encodeStatusWrite(id, update, options, this.defaultTtl));
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    await scripts.statusTouch.run(
      this.connection,
      [this.keys.status(id), this.keys.statusWatchers(id)],
      [
        this.keys.statusChannel(id),
        Date.now(),
        touch.progress ? JSON.stringify(touch.progress) : '',
        touch.heartbeatAt !== undefined ? touch.heartbeatAt : '',
        ...metaPairs(touch.meta),
      ],
    );
  }

  async get(id: string): Promise<TaskStatus | null> {
    return decodeStatus(id, await this.connection.command<string[]>('hgetall', this.keys.status(id)));
  }

  async watch(id: string, listener: (status: TaskStatus) => void): Promise<StatusWatch> {
    const marker = this.keys.statusWatchers(id);
    const counters = this.connection.isCluster ? [marker] : [marker, this.keys.statusWatching];
    // NOTE: mark the status as watched before subscribing: a write between the two is published
    // to nobody, and every write after the SUBSCRIBE is confirmed reaches this watch.
    await scripts.statusWatch.run(this.connection, counters, [WATCH_MARK_TTL]);
    let unsubscribe: () => Promise<void>;
    try {
      unsubscribe = await this.subscriber.subscribe(this.keys.statusChannel(id), (text) => {
        let fields: unknown;
        try {
          fields = JSON.parse(text);
        } catch {
          return;
        }
        const status = Array.isArray(fields) ? decodeStatus(id, fields as string[]) : null;
        if (status) listener(status);
      });
    } catch (error) {
      await scripts.statusUnwatch.run(this.connection, counters, []).catch(() => undefined);
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        await unsubscribe();
        if (!this.closing) await scripts.statusUnwatch.run(this.connection, counters, []);
      },
    };
  }

  async listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    const limit = Math.max(0, request.limit ?? 50);
    const offset = Math.max(0, request.offset ?? 0);
    const queues = request.queue !== undefined ? [request.queue] : await this.connection.command<string[]>('smembers', this.keys.statusIndexQueues);
    const chunk = Math.min(Math.max((offset + limit + 1) * 2, 100), 1_000);
    const merged = new StatusIndexMerge(
      this.connection,
      queues.map((queue) => ({ queue, key: this.keys.statusIndexQueue(queue) })),
      chunk,
    );
    const matches = (s: TaskStatus) =>
      (request.state === undefined || s.state === request.state) &&
      (request.queue === undefined || s.queue === request.queue) &&
      (request.name === undefined || s.name === request.name);
    const items: TaskStatus[] = [];
    const seen = new Set<string>();
    let skipped = 0;
    let more = false;
    while (!more) {
      const batch = await merged.next();
      if (batch.length === 0) break;
      const hashes = await Promise.all(batch.map(({ id }) => this.connection.command<string[]>('hgetall', this.keys.status(id))));
      const stale: { id: string; source: IndexSource }[] = [];
      for (let i = 0; i < batch.length && !more; i++) {
        const { id, source } = batch[i]!;
        const status = decodeStatus(id, hashes[i]!);
        if (!status || (status.queue ?? '') !== source.queue) {
          stale.push(batch[i]!);
          continue;
        }
        if (seen.has(id)) continue;
        seen.add(id);
        if (!matches(status)) continue;
        if (skipped < offset) skipped++;
        else if (items.length < limit) items.push(status);
        else more = true;
      }
      await merged.remove(stale);
    }
    return { items, ...(more ? { nextOffset: offset + items.length } : {}) };
  }

  async expire(id: string, ttl: number): Promise<void> {
    await this.connection.command('pexpire', this.keys.status(id), Math.max(1, Math.ceil(ttl)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.subscriber.close().catch(() => undefined);
      await this.shared.release();
    })();
    return this.closing;
  }

  private pruneHorizon(now: number): number | '' {
    return ++this.batches % PRUNE_EVERY === 0 ? now - this.defaultTtl : '';
  }

  /**
   * Writes one batch. On one server: one script call for the whole batch; if Redis refuses it,
   * each status is written on its own, so a status Redis refuses fails only its own `set`.
   */
  private async flush(batch: readonly StatusWrite[]): Promise<(void | BatchItemFailure)[]> {
    if (!this.connection.isCluster && batch.every(packable)) {
      try {
        await this.writeMany(batch);
        return [];
      } catch (error) {
        if (!isRefusal(error)) throw error;
      }
    }
    return this.writeEach(batch);
  }

  /** One server: every status of the batch and its index entries in one script call, each status packed into one argument. */
  private async writeMany(batch: readonly StatusWrite[]): Promise<void> {
    const args = packedStatusHead(this.target, Date.now());
    for (const w of batch) args.push(packStatusWrite(w));
    await scripts.statusSetMany.run(this.connection, [this.keys.statusIndexQueues, this.keys.statusWatching], args);
  }

  /**
   * Cluster (and batches that cannot be packed or that Redis refused as a whole): one script per
   * status (its own slot), then one index call for the statuses written. A status Redis refuses
   * fails alone.
   */
  private async writeEach(batch: readonly StatusWrite[]): Promise<(void | BatchItemFailure)[]> {
    const now = Date.now();
    const written = await Promise.allSettled(
      batch.map((w) =>
        scripts.statusSet.run<string>(
          this.connection,
          [this.keys.status(w.id), this.keys.statusWatchers(w.id)],
          [this.keys.statusChannel(w.id), now, w.ttl, w.state, w.attempt, w.name, w.queue, w.payload, w.error, w.unlessTerminal ? '1' : '', ...w.meta],
        ),
      ),
    );
    const args: (string | number)[] = [now, this.pruneHorizon(now), this.keys.statusIndexQueuePrefix];
    batch.forEach(({ id }, i) => {
      const result = written[i]!;
      if (result.status === 'fulfilled') args.push(id, result.value ?? '');
    });
    if (args.length > 3) await scripts.statusIndex.run(this.connection, [this.keys.statusIndexQueues], args);
    return written.map((result, i) => {
      if (result.status === 'fulfilled') return undefined;
      return new BatchItemFailure(isRefusal(result.reason) ? new StatusNotStorableError(batch[i]!.id, this.name, result.reason) : result.reason);
    });
  }

  /** Appends to a meta array in one Lua script (`scripts/status-append.lua.ts`), atomic across processes. */
  async appendMeta(id: string, key: string, values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    const [field, json] = metaPairs({ [key]: values });
    await scripts.statusAppendMeta.run(this.connection, [this.keys.status(id), this.keys.statusWatchers(id)], [this.keys.statusChannel(id), Date.now(), field!, json!]);
  }
}

interface IndexSource {
  readonly queue: string;
  readonly key: string;
  /** Rank of the next entry to read. */
  next: number;
  buffer: { id: string; score: number }[];
  done: boolean;
}

/**
 * Walks several per-queue listing indexes at once, most recently updated first (a k-way merge
 * of ZREVRANGE pages).
 */
class StatusIndexMerge {
  private readonly sources: IndexSource[];

  constructor(
    private readonly connection: RedisConnection,
    indexes: readonly { queue: string; key: string }[],
    private readonly chunk: number,
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

  /** Drops ids whose status expired or moved, keeping the read positions right. */
  async remove(entries: readonly { id: string; source: IndexSource }[]): Promise<void> {
    const bySource = new Map<IndexSource, string[]>();
    for (const { id, source } of entries) bySource.set(source, [...(bySource.get(source) ?? []), id]);
    await Promise.all(
      [...bySource].map(async ([source, ids]) => {
        const removed = Number(await this.connection.command('zrem', source.key, ...ids));
        source.next -= removed;
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
