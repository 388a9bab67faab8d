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
import { decodeStatus, errorField, metaPairs, payloadField, TASK_STATES } from './redis-status.codec.js';
import { RedisConnection, type RedisConnectionOptions } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { scripts } from './scripts/index.js';

/** Options of {@link RedisResultBackend.connect}. */
export interface RedisResultBackendOptions extends RedisConnectionOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /**
   * Keep the listing indexes used by `listStatuses` (ZSETs by updatedAt per state, queue and name).
   * Turn off to save a write per status when nothing lists statuses.
   * @default true
   */
  readonly indexStatuses?: boolean;
}

/** Index entries older than the default TTL are pruned every this many writes. */
const PRUNE_EVERY = 1_000;

/**
 * A {@link ResultBackend} on Redis. Each status is a HASH `<prefix>:result:{id}` with a TTL;
 * every write is published on `<prefix>:status:{id}`, so `watch` (and `waitForTask`) works across
 * processes. `listStatuses` reads ZSET indexes by updatedAt, pruned of expired ids as it goes.
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
  private readonly indexStatuses: boolean;
  private writes = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The command connection (auto-pipelined). */
    readonly connection: RedisConnection,
    options: RedisResultBackendOptions,
  ) {
    this.keys = new RedisKeys(options.prefix ?? 'stem');
    this.subscriber = new RedisSubscriber(() => connection.duplicate({ enableAutoPipelining: false }));
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.indexStatuses = options.indexStatuses ?? true;
  }

  /**
   * Connects to Redis and returns a result backend.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisResultBackendOptions = {}): Promise<RedisResultBackend> {
    return new RedisResultBackend(await RedisConnection.open(url, options), options);
  }

  async set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    const now = Date.now();
    const ttl = Math.max(1, Math.ceil(options.ttl ?? this.defaultTtl));
    const write = scripts.statusSet.run<[string, string]>(this.connection, [this.keys.status(id)], [
      this.keys.statusChannel(id),
      ttl,
      now,
      update.state,
      update.attempt,
      update.name ?? '',
      update.queue ?? '',
      payloadField(update),
      errorField(update.error),
      ...metaPairs(update.meta),
    ]);
    if (!this.indexStatuses) {
      await write;
      return;
    }
    if (update.name !== undefined && update.queue !== undefined) {
      await Promise.all([write, this.index(id, now, update.state, update.queue, update.name)]);
      return;
    }
    const [name, queue] = await write;
    await this.index(id, now, update.state, update.queue ?? queue, update.name ?? name);
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    await scripts.statusTouch.run(this.connection, [this.keys.status(id)], [
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
    const unsubscribe = await this.subscriber.subscribe(this.keys.statusChannel(id), (text) => {
      let fields: string[];
      try {
        fields = JSON.parse(text) as string[];
      } catch {
        return;
      }
      const status = Array.isArray(fields) ? decodeStatus(id, fields) : null;
      if (status) listener(status);
    });
    return { close: unsubscribe };
  }

  async listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    const limit = Math.max(0, request.limit ?? 50);
    const offset = Math.max(0, request.offset ?? 0);
    const index =
      request.queue !== undefined
        ? this.keys.statusIndex('queue', request.queue)
        : request.name !== undefined
          ? this.keys.statusIndex('name', request.name)
          : request.state !== undefined
            ? this.keys.statusIndex('state', request.state)
            : this.keys.statusIndex('all');
    const matches = (s: TaskStatus) =>
      (request.state === undefined || s.state === request.state) &&
      (request.queue === undefined || s.queue === request.queue) &&
      (request.name === undefined || s.name === request.name);
    const items: TaskStatus[] = [];
    let skipped = 0;
    let more = false;
    const chunk = Math.min(Math.max((offset + limit + 1) * 2, 64), 1_000);
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
      if (gone.length > 0) await this.connection.command('zrem', index, ...gone);
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

  private index(id: string, now: number, state: string, queue: string | undefined, name: string | undefined): Promise<unknown> {
    const keys = [this.keys.statusIndex('all'), ...TASK_STATES.map((s) => this.keys.statusIndex('state', s))];
    if (queue) keys.push(this.keys.statusIndex('queue', queue));
    if (name) keys.push(this.keys.statusIndex('name', name));
    const prune = ++this.writes % PRUNE_EVERY === 0 ? now - this.defaultTtl : '';
    return scripts.statusIndex.run(this.connection, keys, [id, now, TASK_STATES.indexOf(state as never) + 1, prune]);
  }
}
