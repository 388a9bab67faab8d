import { ConfigurationError } from '../../core/errors/configuration.error.js';

/** Number of priority levels (0–9); each has its own stream. */
export const PRIORITY_LEVELS = 10;

/** Consumer group every worker of a queue joins. */
export const CONSUMER_GROUP = 'stem-workers';

/** Clamps a priority to 0–9. */
export function clampPriority(priority: number): number {
  if (!Number.isFinite(priority)) return 0;
  return Math.min(PRIORITY_LEVELS - 1, Math.max(0, Math.trunc(priority)));
}

/**
 * The keys of one queue. All of them share the hash tag `{queue}`, so a queue lives on one
 * cluster slot and every Lua script over it is cluster-safe.
 *
 * - `<prefix>:{q}:stream:p0..p9`: ready and leased envelopes, one stream per priority
 * - `<prefix>:{q}:delayed`: ZSET of envelopes by `notBefore`
 * - `<prefix>:{q}:leases`: ZSET of `<priority>:<entry id>` by lease deadline
 * - `<prefix>:{q}:signal`: a one-entry stream bumped when the earliest due time moves earlier
 * - `<prefix>:{q}:dead` / `:dead:entries`: ZSET of dead-letter refs (`<dead-letter id>:<task id>`) by
 *   dead-letter time, HASH of entries by ref
 * - `<prefix>:{q}:dead:by-task`: ZSET (all scores 0) of `<task id>\0<dead-letter id>`, to find a task's dead letters
 */
export interface QueueKeys {
  readonly queue: string;
  /** Streams indexed by priority 0..9. */
  readonly streams: readonly string[];
  readonly delayed: string;
  readonly leases: string;
  readonly signal: string;
  readonly dead: string;
  readonly deadEntries: string;
  readonly deadIndex: string;
}

/** Builds and caches key names under one prefix. */
export class RedisKeys {
  private readonly queues = new Map<string, QueueKeys>();

  constructor(readonly prefix: string) {}

  /** Keys of a queue. @throws ConfigurationError for names that would break the hash tag */
  queue(queue: string): QueueKeys {
    let keys = this.queues.get(queue);
    if (keys) return keys;
    if (queue.length === 0 || /[{}]/.test(queue)) {
      throw new ConfigurationError('queue', `queue name "${queue}" must be non-empty and must not contain "{" or "}" (they form the Redis Cluster hash tag)`);
    }
    const base = `${this.prefix}:{${queue}}`;
    keys = {
      queue,
      streams: Array.from({ length: PRIORITY_LEVELS }, (_, p) => `${base}:stream:p${p}`),
      delayed: `${base}:delayed`,
      leases: `${base}:leases`,
      signal: `${base}:signal`,
      dead: `${base}:dead`,
      deadEntries: `${base}:dead:entries`,
      deadIndex: `${base}:dead:by-task`,
    };
    this.queues.set(queue, keys);
    return keys;
  }

  /** Pub/sub channel of a broadcast channel. */
  broadcast(channel: string): string {
    return `${this.prefix}:broadcast:${channel}`;
  }

  /** HASH holding a task status; the id is the hash tag so its channel maps to the same slot. */
  status(id: string): string {
    return `${this.prefix}:result:{${id}}`;
  }

  /** Pub/sub channel announcing writes to a task status. */
  statusChannel(id: string): string {
    return `${this.prefix}:status:{${id}}`;
  }

  /** Status key prefix: `status(id)` is this + id + `}`. */
  get statusPrefix(): string {
    return `${this.prefix}:result:{`;
  }

  /** Counter of live watches of a task status; writes are published only while it exists. */
  statusWatchers(id: string): string {
    return `${this.status(id)}:watchers`;
  }

  /**
   * Counter of live watches of any status (standalone servers): writes look at the per-status
   * counters only while it exists.
   */
  get statusWatching(): string {
    return `${this.prefix}:{results}:watching`;
  }

  /** Channel prefix: `statusChannel(id)` is this + id + `}`. */
  get statusChannelPrefix(): string {
    return `${this.prefix}:status:{`;
  }

  /** SET of the queue names that have a status listing index; all listing keys share one slot. */
  get statusIndexQueues(): string {
    return `${this.prefix}:{results}:idx:queues`;
  }

  /** Prefix of the per-queue listing indexes: `statusIndexQueue(q)` is this + q. */
  get statusIndexQueuePrefix(): string {
    return `${this.prefix}:{results}:idx:queue:`;
  }

  /** Listing index of the statuses of one queue. */
  statusIndexQueue(queue: string): string {
    return this.statusIndexQueuePrefix + queue;
  }

  /**
   * Base of the operations indexes, derived from {@link statusIndexQueues} by the scripts (drop
   * its trailing `queues`): `<base>state:<state>:<queue>` ZSET of ids by updatedAt per state and
   * queue, `<base>ids` ZSET (scores 0) of ids by name for id prefixes, `<base>tp:<minute ms>` HASH
   * of finished counts in that minute (`s`/`f` overall, `s|<queue>`/`f|<queue>` per queue).
   */
  get statusIndexBase(): string {
    return `${this.prefix}:{results}:idx:`;
  }

  /** Listing index of the statuses of one queue in one state. */
  statusIndexState(state: string, queue: string): string {
    return `${this.statusIndexBase}state:${state}:${queue}`;
  }

  /** ZSET of every status id (scores 0), for id prefix searches. */
  get statusIndexIds(): string {
    return `${this.statusIndexBase}ids`;
  }

  /** HASH of the tasks finished in the minute starting at `minute` (epoch ms). */
  statusThroughput(minute: number): string {
    return `${this.statusIndexBase}tp:${minute}`;
  }

  /** SET of every queue name a broker published to or consumed. */
  get queueNames(): string {
    return `${this.prefix}:queues`;
  }

  /** Key of a lock. */
  lock(key: string): string {
    return `${this.prefix}:lock:${key}`;
  }

  /**
   * HASH of a canvas group (expected count, meta, times, chord claim). The group id is the hash
   * tag, so the group and its results live on one cluster slot.
   */
  group(id: string): string {
    return `${this.prefix}:group:{${id}}`;
  }

  /** HASH of the member results of a canvas group (index → result JSON). */
  groupResults(id: string): string {
    return `${this.group(id)}:results`;
  }

  /** HASH of every schedule entry (id → entry JSON); shares the `{schedules}` slot with the due index. */
  get scheduleEntries(): string {
    return `${this.prefix}:{schedules}:entries`;
  }

  /** ZSET of enabled schedule entries by next run. */
  get scheduleDue(): string {
    return `${this.prefix}:{schedules}:due`;
  }

  /** Key of a rate limiter bucket. */
  rate(key: string): string {
    return `${this.prefix}:rate:${key}`;
  }
}
