import { Command, Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../../core/utils/redact-url.js';
import { tlsFingerprint } from '../tls/tls-material.js';
import { RedisDeadConnectionError } from './redis-dead-connection.error.js';
import { connectCluster, connectStandalone } from './redis.clients.js';
import type { RedisClient, RedisConnectionOptions } from './redis.connection-options.js';
import { assertHealthOptions, REDIS_HEALTH_DEFAULTS, withDeadline } from './redis.health.js';

export type { RedisClient, RedisConnectionOptions } from './redis.connection-options.js';

/** A connection shared by adapters on the same server; `release` closes it after its last user. */
export interface SharedRedisConnection {
  readonly connection: RedisConnection;
  /** Gives the connection back. Idempotent. */
  release(): Promise<void>;
}

const shared = new Map<string, { connection: Promise<RedisConnection>; users: number }>();

function shareKey(url: string, options: RedisConnectionOptions): string {
  const { redis, cluster, clusterOptions, connectTimeout, keepAlive, commandTimeout, healthCheckInterval, deadConnectionTimeout } = options;
  const tls = tlsFingerprint(options.tls);
  return `${url}\n${JSON.stringify({ redis, cluster, clusterOptions, connectTimeout, keepAlive, commandTimeout, healthCheckInterval, deadConnectionTimeout, tls })}`;
}

/** ioredis internals of auto-pipelining: the pipelines waiting for a turn and the ones in flight. */
interface AutoPipelineState {
  readonly _autoPipelines?: Map<string, unknown>;
  readonly _runningAutoPipelines?: Set<string>;
}

/**
 * Whether a command can go out at once instead of joining an auto-pipeline: the standalone client
 * auto-pipelines, and no pipeline waits or is in flight, so writing it now keeps call order.
 * Auto-pipelining defers each command to `setImmediate` and one pipeline at a time; a lone
 * command (one enqueue awaited after another) skips that wait, concurrent ones still coalesce.
 */
function idlePipeline(client: RedisClient): client is Redis {
  if (!(client instanceof Redis) || !client.options.enableAutoPipelining) return false;
  const state = client as unknown as AutoPipelineState;
  return state._autoPipelines?.size === 0 && state._runningAutoPipelines?.size === 0;
}

/**
 * A Redis connection handle that knows how to make more connections like itself (blocking readers
 * and subscribers need their own).
 */
export class RedisConnection {
  private readonly errorListeners = new Set<(error: unknown) => void>();
  private readonly healthTimer: NodeJS.Timeout | undefined;
  private readonly deadAfter: number;
  private blockingReads = 0;
  private pinging = 0;
  private ended = false;

  private constructor(
    /** The ioredis client. */
    readonly client: RedisClient,
    /** Whether this is a cluster client. */
    readonly isCluster: boolean,
    private readonly url: string,
    private readonly options: RedisConnectionOptions,
    /** What this connection is for, as named in error messages (`command`, `blocking`, `subscriber`, ...). */
    public role = 'command',
  ) {
    if (options.onError) this.errorListeners.add(options.onError);
    this.deadAfter = options.deadConnectionTimeout ?? REDIS_HEALTH_DEFAULTS.deadConnectionTimeout;
    const interval = options.healthCheckInterval ?? REDIS_HEALTH_DEFAULTS.healthCheckInterval;
    if (interval > 0) {
      this.healthTimer = setInterval(() => this.healthCheck(), interval);
      this.healthTimer.unref();
    }
  }

  /** Longest BLOCK of one blocking read, so a dead blocking connection is noticed in time (ms). */
  get maxBlock(): number {
    const interval = this.options.healthCheckInterval ?? REDIS_HEALTH_DEFAULTS.healthCheckInterval;
    return interval > 0 ? interval : Number.POSITIVE_INFINITY;
  }

  /** Adds a listener for connection trouble found in the background; returns its remover. */
  onError(listener: (error: unknown) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Opens a connection and waits until it is ready.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async open(url: string, options: RedisConnectionOptions = {}, extra: RedisOptions = {}, role = 'command'): Promise<RedisConnection> {
    assertHealthOptions(options);
    if (options.cluster === true) return new RedisConnection(await connectCluster(url, options, extra), true, url, options, role);
    const client = await connectStandalone(url, options, extra);
    if (options.cluster === false) return new RedisConnection(client, false, url, options, role);
    let info: string;
    try {
      info = String(await client.info('cluster'));
    } catch (error) {
      client.disconnect();
      throw error;
    }
    if (!/cluster_enabled:1/.test(info)) return new RedisConnection(client, false, url, { ...options, cluster: false }, role);
    client.disconnect();
    return new RedisConnection(await connectCluster(url, options, extra), true, url, { ...options, cluster: true }, role);
  }

  /**
   * The command connection of every adapter in this process with the same URL and connection
   * options: one socket carries the broker's, the backend's and the stores' commands, so commands
   * issued in one event-loop turn go out in one write and come back in one read.
   */
  static async share(url: string, options: RedisConnectionOptions = {}): Promise<SharedRedisConnection> {
    const key = shareKey(url, options);
    let entry = shared.get(key);
    if (!entry) {
      const opening = RedisConnection.open(url, options);
      entry = { connection: opening, users: 0 };
      shared.set(key, entry);
      opening.catch(() => shared.get(key) === entry && shared.delete(key));
    }
    const current = entry;
    current.users++;
    let connection: RedisConnection;
    try {
      connection = await current.connection;
    } catch (error) {
      current.users--;
      throw error;
    }
    // NOTE: the connection is shared, so each user's onError hears of it (the first one's is
    // already among the listeners from open()).
    const { onError } = options;
    const removeListener = onError ? connection.onError(onError) : () => false;
    let released = false;
    return {
      connection,
      release: async () => {
        if (released) return;
        released = true;
        removeListener();
        if (--current.users > 0) return;
        if (shared.get(key) === current) shared.delete(key);
        await connection.quit();
      },
    };
  }

  /**
   * Opens another connection to the same server(s), e.g. for a blocking read or a subscriber;
   * `role` names it in error messages. It reports to the same `onError` listeners.
   */
  async duplicate(extra: RedisOptions = {}, role = 'dedicated'): Promise<RedisConnection> {
    const connection = await RedisConnection.open(this.url, { ...this.options, onError: (error) => this.report(error) }, extra, role);
    return connection;
  }

  /**
   * Sends a command (auto-pipelined when the connection has that on).
   * @throws RedisDeadConnectionError when `commandTimeout` is set and no reply came in time
   */
  command<T = unknown>(name: string, ...args: (string | number | Buffer)[]): Promise<T> {
    const client: RedisClient = this.client;
    const sent = (idlePipeline(client) ? client.sendCommand(new Command(name, args, { replyEncoding: 'utf8' })) : client.call(name, ...args)) as Promise<T>;
    const limit = this.options.commandTimeout;
    if (!limit || limit <= 0) return sent;
    return withDeadline(
      sent,
      limit,
      () => new RedisDeadConnectionError(redactUrl(this.url), this.role, `command ${name.toUpperCase()} got no reply within ${limit} ms (commandTimeout)`, true),
    );
  }

  /**
   * Sends a blocking command (XREAD/XREADGROUP ... BLOCK `blockMs`). The idle PING is held back
   * while it runs; instead, no reply within `blockMs + deadConnectionTimeout` declares the
   * connection dead: the returned promise rejects with a {@link RedisDeadConnectionError} and the
   * caller replaces the connection.
   */
  async blocking<T = unknown>(blockMs: number, name: string, ...args: (string | number | Buffer)[]): Promise<T> {
    this.blockingReads++;
    try {
      const sent = (this.client as Redis).call(name, ...args) as Promise<T>;
      const limit = Math.ceil(blockMs) + this.deadAfter;
      return await withDeadline(
        sent,
        limit,
        () => new RedisDeadConnectionError(redactUrl(this.url), this.role, `blocking ${name.toUpperCase()} (BLOCK ${Math.ceil(blockMs)} ms) got no reply within ${limit} ms`),
      );
    } finally {
      this.blockingReads--;
    }
  }

  /** Closes at once, dropping queued commands. Idempotent. */
  disconnect(): void {
    this.stopHealthCheck();
    this.client.disconnect();
  }

  /** Closes after pending replies arrive (falls back to disconnect on error). Idempotent. */
  async quit(): Promise<void> {
    this.stopHealthCheck();
    if (this.client.status === 'end') return;
    try {
      await Promise.race([this.client.quit(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    } catch {
      // NOTE: quitting a connection that is already broken rejects; disconnecting is all that is left.
    }
    this.client.disconnect();
  }

  private report(error: unknown): void {
    for (const listener of [...this.errorListeners]) {
      try {
        listener(error);
      } catch {
        // NOTE: a throwing error listener must not stop the health check or the other listeners.
      }
    }
  }

  private stopHealthCheck(): void {
    this.ended = true;
    clearInterval(this.healthTimer);
  }

  /**
   * One health check: PING unless a PING or a blocking read is already out; no reply within
   * `deadConnectionTimeout` reports the connection dead and makes ioredis reconnect (commands
   * waiting for replies are sent again on the new socket: at-least-once, nothing dropped).
   */
  private healthCheck(): void {
    const status = this.client.status;
    if (this.ended || status === 'end') return this.stopHealthCheck();
    // NOTE: 'reconnecting' waits out ioredis' retry delay; a PING now would only queue.
    if (this.pinging > 0 || this.blockingReads > 0 || status === 'reconnecting') return;
    const ping = ++this.pinging;
    const timer = setTimeout(() => {
      if (this.pinging !== ping || this.ended) return;
      this.pinging = 0;
      const reason = status === 'ready' ? `no reply to PING within ${this.deadAfter} ms` : `not ready within ${this.deadAfter} ms (status "${status}")`;
      this.report(new RedisDeadConnectionError(redactUrl(this.url), this.role, reason));
      if (this.client.status !== 'end') this.client.disconnect(true);
    }, this.deadAfter);
    timer.unref();
    this.client
      .ping()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        clearTimeout(timer);
        if (this.pinging === ping) this.pinging = 0;
      });
  }
}

export { redactUrl };
