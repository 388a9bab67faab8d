import type { ControlStore, QueuePauseEntry, RevokeEntry, WorkerHeartbeat } from '../../core/contracts/control-store.js';
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { scripts } from './scripts/index.js';
import { resolveRedisUrl } from './redis.url.js';

/** Options of {@link RedisControlStore}. */
export interface RedisControlStoreOptions extends RedisConnectionOptions {
  /** Separates the control state of apps sharing one prefix. @default 'stem' */
  readonly namespace?: string;
}

/** Entries per upsert script call, so one call never blocks Redis for long. */
const UPSERT_CHUNK = 500;

/**
 * A {@link ControlStore} on Redis. Every key of a namespace shares the hash tag
 * `{control:<namespace>}`, so the Lua scripts (`scripts/control.lua.ts`) are cluster-safe:
 * - `<prefix>:{control:<ns>}:revokes` HASH task id → entry, `:revokes:expiry` ZSET by expiresAt;
 * - `:pauses` HASH queue → entry;
 * - `:workers` ZSET worker id by expiry (server time), `:heartbeats` HASH worker id → heartbeat.
 *
 * @example
 * const store = await RedisControlStore.connect('redis://127.0.0.1:6379');
 */
export class RedisControlStore implements ControlStore {
  private readonly revokesKeys: [string, string];
  private readonly pausesKey: string;
  private readonly workersKeys: [string, string];
  private closing: Promise<void> | undefined;

  /** The command connection (shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisControlStoreOptions,
  ) {
    this.connection = shared.connection;
    const namespace = options.namespace ?? 'stem';
    if (/[{}]/.test(namespace)) throw new ConfigurationError('namespace', `"${namespace}" must not contain "{" or "}" (they form the Redis Cluster hash tag)`);
    const base = `${options.prefix ?? 'stem'}:{control:${namespace}}`;
    this.revokesKeys = [`${base}:revokes`, `${base}:revokes:expiry`];
    this.pausesKey = `${base}:pauses`;
    this.workersKeys = [`${base}:workers`, `${base}:heartbeats`];
  }

  /**
   * Connects to Redis and returns a control store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisControlStoreOptions = {}): Promise<RedisControlStore> {
    const target = resolveRedisUrl(url, options);
    return new RedisControlStore(await Connection.share(target.url, target.options), { ...target.options, ...(options.namespace ? { namespace: options.namespace } : {}) });
  }

  async upsertRevokes(entries: readonly RevokeEntry[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < entries.length; i += UPSERT_CHUNK) {
      const args = entries.slice(i, i + UPSERT_CHUNK).flatMap((e) => [e.taskId, e.version, JSON.stringify(e), e.expiresAt ?? '']);
      written += Number(await scripts.revokeUpsert.run(this.connection, this.revokesKeys, args));
    }
    return written;
  }

  async listRevokes(now: number = Date.now()): Promise<RevokeEntry[]> {
    const values = await this.connection.command<string[]>('hvals', this.revokesKeys[0]);
    return values
      .map((v) => JSON.parse(v) as RevokeEntry)
      .filter((e) => e.expiresAt === undefined || e.expiresAt > now)
      .sort((a, b) => a.version - b.version);
  }

  async pruneRevokes(now: number): Promise<number> {
    return Number(await scripts.revokePrune.run(this.connection, this.revokesKeys, [now]));
  }

  async setQueuePause(entry: QueuePauseEntry): Promise<boolean> {
    return Number(await scripts.pauseSet.run(this.connection, [this.pausesKey], [entry.queue, entry.version, JSON.stringify(entry)])) === 1;
  }

  async listQueuePauses(): Promise<QueuePauseEntry[]> {
    const values = await this.connection.command<string[]>('hvals', this.pausesKey);
    return values.map((v) => JSON.parse(v) as QueuePauseEntry).sort((a, b) => a.queue.localeCompare(b.queue));
  }

  async recordHeartbeat(heartbeat: WorkerHeartbeat, ttl: number): Promise<void> {
    await scripts.heartbeatRecord.run(this.connection, this.workersKeys, [heartbeat.workerId, Math.max(1, Math.ceil(ttl)), JSON.stringify(heartbeat)]);
  }

  async listHeartbeats(): Promise<WorkerHeartbeat[]> {
    const values = await scripts.heartbeatList.run<string[]>(this.connection, this.workersKeys, []);
    return values.map((v) => JSON.parse(v) as WorkerHeartbeat).sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  async removeHeartbeat(workerId: string): Promise<void> {
    await scripts.heartbeatRemove.run(this.connection, this.workersKeys, [workerId]);
  }

  close(): Promise<void> {
    this.closing ??= this.shared.release();
    return this.closing;
  }
}
