import type {
  ResultBackend,
  SetStatusOptions,
  StatusWatch,
  TaskStatusListRequest,
  TaskStatusPage,
  TaskStatusTouch,
  TaskStatusUpdate,
} from '../../core/contracts/result-backend.js';
import type { ResultBackendIntrospection, TaskSearchRequest, TaskStatusWithArgs, ThroughputBucket, ThroughputRequest } from '../../core/contracts/introspection.js';
import type { TaskState, TaskStatus } from '../../core/envelope.js';
import { type RecordArgsOption, recordedArgsLimit } from '../../core/utils/recorded-args.js';
import { fillThroughput, planThroughput, THROUGHPUT_MINUTE_MS, zeroStateCounts } from '../../core/utils/throughput-buckets.js';
import { RedisStatusListing } from './redis.status-listing.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { AckNotConfirmedError } from '../../core/errors/ack-not-confirmed.error.js';
import { decodeStatus, metaPairs, TASK_STATES } from './redis-status.codec.js';
import { BatchItemFailure, Batcher } from './redis.batcher.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { CONSUMER_GROUP, RedisKeys } from './redis.keys.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { scripts } from './scripts/index.js';
import { resolveRedisUrl } from './redis.url.js';
import {
  encodeStatusWrite,
  packable,
  packedStatusHead,
  packStatusWrite,
  type RedisStatusTarget,
  registerStatusTarget,
  type StatusWrite,
  writeGuard,
} from './redis.status-write.js';

/** Options of {@link RedisResultBackend.connect}. */
export interface RedisResultBackendOptions extends RedisConnectionOptions {
  /** TTL in ms for statuses written without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** Record each task's arguments with its `queued` status (shown by `getWithArgs`). @default true (up to 4096 bytes of JSON) */
  readonly recordArgs?: RecordArgsOption;
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
 * `<prefix>:status:{id}`, so `watch` and `waitForTask` work across processes. Every write also
 * files the id under ZSET indexes by updatedAt, per queue and per (state, queue), keeps an id
 * index for prefixes and counts finished tasks per minute (see `RedisKeys.statusIndexBase`), so
 * listing, counts and throughput stay fast on a million statuses.
 *
 * Writes issued in the same event-loop turn go out as one script call on a standalone server.
 *
 * @example
 * const backend = await RedisResultBackend.connect('redis://127.0.0.1:6379');
 * const watch = await backend.watch(taskId, (status) => console.log(status.state));
 */
export class RedisResultBackend implements ResultBackend, ResultBackendIntrospection {
  readonly name = 'redis';
  private readonly keys: RedisKeys;
  private readonly subscriber: RedisSubscriber;
  private readonly defaultTtl: number;
  private readonly writes: Batcher<StatusWrite>;
  private batches = 0;
  private readonly target: RedisStatusTarget;
  private readonly argsLimit: number;
  private readonly listing: RedisStatusListing;
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
    this.argsLimit = recordedArgsLimit(options.recordArgs);
    this.listing = new RedisStatusListing(connection, this.keys);
    this.writes = new Batcher((batch) => this.flush(batch), 200);
    this.target = {
      connection,
      keys: this.keys,
      defaultTtl: this.defaultTtl,
      argsLimit: this.argsLimit,
      set: (id, update, options) => this.set(id, update, options),
      setAndAck: (id, update, options, ack) => this.writes.add({ ...encodeStatusWrite(id, update, options, this.defaultTtl, this.argsLimit), ack }),
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
    await this.writes.add(encodeStatusWrite(id, update, options, this.defaultTtl, this.argsLimit));
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

  /** Statuses newest first: a state filter walks that state's indexes, a queue filter that queue's. */
  listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    return this.listing.search(request);
  }

  /**
   * Live statuses per state, from the per-state listing indexes (ZCOUNT, one script call).
   * Exact for statuses written with the default TTL; one given a shorter TTL still counts until
   * the default TTL has passed since its last write (or a listing meets it).
   */
  async countByState(queue?: string): Promise<Record<TaskState, number>> {
    const counts = await scripts.statusCounts.run<number[]>(
      this.connection,
      [this.keys.statusIndexQueues],
      [this.keys.statusIndexBase, Date.now() - this.defaultTtl, queue !== undefined ? '1' : '', queue ?? ''],
    );
    const out = zeroStateCounts();
    TASK_STATES.forEach((state, i) => (out[state] = Number(counts[i] ?? 0)));
    return out;
  }

  /** Finished tasks per bucket, from per-minute counters the status writes increment (kept 25 hours). */
  async throughput(request: ThroughputRequest): Promise<ThroughputBucket[]> {
    const plan = planThroughput(request, Date.now());
    const fields = request.queue !== undefined ? [`s|${request.queue}`, `f|${request.queue}`] : ['s', 'f'];
    const minutes: number[] = [];
    for (let m = plan.firstMinute; m <= plan.lastMinute; m += THROUGHPUT_MINUTE_MS) minutes.push(m);
    const replies = await Promise.all(minutes.map((m) => this.connection.command<(string | null)[]>('hmget', this.keys.statusThroughput(m), ...fields)));
    return fillThroughput(
      plan,
      minutes.map((m, i) => [m, { succeeded: Number(replies[i]![0] ?? 0), failed: Number(replies[i]![1] ?? 0) }] as const),
    );
  }

  /** Filters and id prefix; `argsContain` is refused (Redis does not index arguments). */
  searchStatuses(request: TaskSearchRequest): Promise<TaskStatusPage> {
    return this.listing.search(request);
  }

  getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    return this.listing.getWithArgs(id);
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

  /**
   * One server: every status of the batch and its index entries in one script call, each status
   * packed into one argument; the deliveries folded into the batch are acked after every status
   * is written, in the same script.
   */
  private async writeMany(batch: readonly StatusWrite[]): Promise<void> {
    const args = packedStatusHead(this.target, Date.now());
    const acks: string[] = [];
    for (const w of batch) if (w.ack) acks.push(w.ack.stream, w.ack.leases, w.ack.member);
    args.push(acks.length > 0 ? CONSUMER_GROUP : '', acks.length / 3, ...acks);
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
        scripts.statusSet.run<[string, string, string] | null>(
          this.connection,
          [this.keys.status(w.id), this.keys.statusWatchers(w.id)],
          [this.keys.statusChannel(w.id), now, w.ttl, w.state, w.attempt, w.name, w.queue, w.payload, w.error, writeGuard(w), ...w.meta],
        ),
      ),
    );
    const args: (string | number)[] = [now, this.pruneHorizon(now), this.keys.statusIndexQueuePrefix];
    batch.forEach(({ id, state }, i) => {
      const result = written[i]!;
      if (result.status === 'fulfilled' && result.value) args.push(id, result.value[0], state, result.value[1], result.value[2]);
    });
    if (args.length > 3) await scripts.statusIndex.run(this.connection, [this.keys.statusIndexQueues], args);
    // NOTE: a folded ack follows its own status only: a status Redis refuses leaves its delivery unacked.
    const acked = await Promise.allSettled(batch.map((w, i) => (w.ack && written[i]!.status === 'fulfilled' ? w.ack.ackAlone() : undefined)));
    return written.map((result, i) => {
      if (result.status === 'rejected') {
        return new BatchItemFailure(isRefusal(result.reason) ? new StatusNotStorableError(batch[i]!.id, this.name, result.reason) : result.reason);
      }
      const ack = acked[i]!;
      return ack.status === 'rejected' ? new BatchItemFailure(new AckNotConfirmedError(batch[i]!.id, batch[i]!.queue, ack.reason)) : undefined;
    });
  }

  /** Appends to a meta array in one Lua script (`scripts/status-append.lua.ts`), atomic across processes. */
  async appendMeta(id: string, key: string, values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    const [field, json] = metaPairs({ [key]: values });
    await scripts.statusAppendMeta.run(this.connection, [this.keys.status(id), this.keys.statusWatchers(id)], [this.keys.statusChannel(id), Date.now(), field!, json!]);
  }
}
