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
import { decodeStatus, errorField, metaPairs, payloadField } from './redis-status.codec.js';
import { Batcher } from './redis.batcher.js';
import { RedisConnection, type RedisConnectionOptions } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { scripts } from './scripts/index.js';

/** Options of {@link RedisResultBackend.connect}. */
export interface RedisResultBackendOptions extends RedisConnectionOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
}

/** Index entries older than the default TTL are pruned every this many batches. */
const PRUNE_EVERY = 200;
/** How long a watch marks a status as watched if its process dies without closing it. */
const WATCH_MARK_TTL = 86_400_000;

interface StatusWrite {
  readonly id: string;
  readonly ttl: number;
  readonly update: TaskStatusUpdate;
}

/**
 * A {@link ResultBackend} on Redis. Each status is a HASH `<prefix>:result:{id}` with a TTL. While
 * a status is watched (a counter key next to it exists), every write is published on
 * `<prefix>:status:{id}`, so `watch` and `waitForTask` work across processes. `listStatuses`
 * walks ZSET indexes by updatedAt (all statuses, and per queue), dropping expired ids as it goes.
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
  private closing: Promise<void> | undefined;

  private constructor(
    /** The command connection (auto-pipelined). */
    readonly connection: RedisConnection,
    options: RedisResultBackendOptions,
  ) {
    this.keys = new RedisKeys(options.prefix ?? 'stem');
    this.subscriber = new RedisSubscriber(() => connection.duplicate({ enableAutoPipelining: false }));
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.writes = new Batcher((batch) => (connection.isCluster ? this.writeEach(batch) : this.writeMany(batch)), 200);
  }

  /**
   * Connects to Redis and returns a result backend.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisResultBackendOptions = {}): Promise<RedisResultBackend> {
    return new RedisResultBackend(await RedisConnection.open(url, options), options);
  }

  async set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    await this.writes.add({ id, update, ttl: Math.max(1, Math.ceil(options.ttl ?? this.defaultTtl)) });
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    await scripts.statusTouch.run(this.connection, [this.keys.status(id), this.keys.statusWatchers(id)], [
      this.keys.statusChannel(id),
      Date.now(),
      touch.progress ? JSON.stringify(touch.progress) : '',
      touch.heartbeatAt !== undefined ? touch.heartbeatAt : '',
    ]);
  }

  async get(id: string): Promise<TaskStatus | null> {
    return decodeStatus(id, await this.connection.command<string[]>('hgetall', this.keys.status(id)));
  }

  async watch(id: string, listener: (status: TaskStatus) => void): Promise<StatusWatch> {
    const marker = this.keys.statusWatchers(id);
    // NOTE: mark the status as watched before subscribing: a write between the two is published
    // to nobody, and every write after the SUBSCRIBE is confirmed reaches this watch.
    await this.connection.command('incr', marker);
    await this.connection.command('pexpire', marker, WATCH_MARK_TTL);
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
      await scripts.statusUnwatch.run(this.connection, [marker], []).catch(() => undefined);
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        await unsubscribe();
        if (!this.closing) await scripts.statusUnwatch.run(this.connection, [marker], []);
      },
    };
  }

  async listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    const limit = Math.max(0, request.limit ?? 50);
    const offset = Math.max(0, request.offset ?? 0);
    const index = request.queue !== undefined ? this.keys.statusIndexQueue(request.queue) : this.keys.statusIndexAll;
    const matches = (s: TaskStatus) =>
      (request.state === undefined || s.state === request.state) &&
      (request.queue === undefined || s.queue === request.queue) &&
      (request.name === undefined || s.name === request.name);
    const items: TaskStatus[] = [];
    let skipped = 0;
    let more = false;
    const chunk = Math.min(Math.max((offset + limit + 1) * 2, 100), 1_000);
    for (let start = 0; !more; start += chunk) {
      const ids = await this.connection.command<string[]>('zrevrange', index, start, start + chunk - 1);
      if (ids.length === 0) break;
      const hashes = await Promise.all(ids.map((id) => this.connection.command<string[]>('hgetall', this.keys.status(id))));
      const gone: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const status = decodeStatus(ids[i]!, hashes[i]!);
        if (!status) {
          gone.push(ids[i]!);
          continue;
        }
        if (!matches(status)) continue;
        if (skipped < offset) skipped++;
        else if (items.length < limit) items.push(status);
        else {
          more = true;
          break;
        }
      }
      if (gone.length > 0) {
        await this.connection.command('zrem', index, ...gone);
        start -= gone.length;
      }
      if (ids.length < chunk) break;
    }
    return { items, ...(more ? { nextOffset: offset + items.length } : {}) };
  }

  async expire(id: string, ttl: number): Promise<void> {
    await this.connection.command('pexpire', this.keys.status(id), Math.max(1, Math.ceil(ttl)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.subscriber.close().catch(() => undefined);
      await this.connection.quit();
    })();
    return this.closing;
  }

  private pruneHorizon(now: number): number | '' {
    return ++this.batches % PRUNE_EVERY === 0 ? now - this.defaultTtl : '';
  }

  /** One server: every status of the batch and its index entries in one script call. */
  private async writeMany(batch: readonly StatusWrite[]): Promise<void[]> {
    const now = Date.now();
    const keys = [this.keys.statusIndexAll];
    const args: (string | number)[] = [now, this.keys.statusChannelPrefix, this.keys.statusIndexQueuePrefix, this.pruneHorizon(now)];
    for (const { id, ttl, update } of batch) {
      keys.push(this.keys.status(id));
      const meta = metaPairs(update.meta);
      args.push(id, ttl, update.state, update.attempt, update.name ?? '', update.queue ?? '', payloadField(update), errorField(update.error), meta.length / 2, ...meta);
    }
    await scripts.statusSetMany.run(this.connection, keys, args);
    return [];
  }

  /** Cluster: one script per status (its own slot), then one index call for the batch. */
  private async writeEach(batch: readonly StatusWrite[]): Promise<void[]> {
    const now = Date.now();
    const queues = await Promise.all(
      batch.map(({ id, ttl, update }) =>
        scripts.statusSet.run<string>(this.connection, [this.keys.status(id), this.keys.statusWatchers(id)], [
          this.keys.statusChannel(id),
          now,
          ttl,
          update.state,
          update.attempt,
          update.name ?? '',
          update.queue ?? '',
          payloadField(update),
          errorField(update.error),
          ...metaPairs(update.meta),
        ]),
      ),
    );
    const keys = [this.keys.statusIndexAll];
    const position = new Map<string, number>();
    const args: (string | number)[] = [now, this.pruneHorizon(now)];
    batch.forEach(({ id }, i) => {
      const queue = queues[i];
      let at = 0;
      if (queue) {
        at = position.get(queue) ?? keys.push(this.keys.statusIndexQueue(queue));
        position.set(queue, at);
      }
      args.push(id, at);
    });
    await scripts.statusIndex.run(this.connection, keys, args);
    return [];
  }
}
