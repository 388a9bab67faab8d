import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redactUrl } from '../../core/utils/redact-url.js';
import { RedisConnectionError } from './redis-connection.error.js';

/** A standalone or cluster ioredis client. */
export type RedisClient = Redis | Cluster;

/** Connection options shared by every Redis adapter. */
export interface RedisConnectionOptions {
  /**
   * First segment of every key and channel, so several deployments can share one Redis.
   * @default 'stem'
   */
  readonly prefix?: string;
  /**
   * Extra ioredis options (password, username, db, `tls`, timeouts...). `rediss://` URLs turn TLS
   * on by themselves; pass `tls: { ca, cert, key }` here for a private CA or client certificates.
   */
  readonly redis?: RedisOptions;
  /**
   * Connect as a Redis Cluster client. `undefined` asks the server (`INFO cluster`) and switches to
   * a cluster client when cluster mode is enabled.
   * @default undefined (auto-detect)
   */
  readonly cluster?: boolean;
  /** Extra ioredis cluster options, used when connecting to a cluster. */
  readonly clusterOptions?: ClusterOptions;
  /**
   * How long `connect()` keeps trying before it fails with a {@link RedisConnectionError}, in ms.
   * Once connected, clients reconnect by themselves for as long as they are open.
   * @default 3000
   */
  readonly connectTimeout?: number;
}


function reasonOf(error: unknown): string {
  if (!error) return 'connection closed';
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(error);
}

/** A connection shared by adapters on the same server; `release` closes it after its last user. */
export interface SharedRedisConnection {
  readonly connection: RedisConnection;
  /** Gives the connection back. Idempotent. */
  release(): Promise<void>;
}

const shared = new Map<string, { connection: Promise<RedisConnection>; users: number }>();

function shareKey(url: string, options: RedisConnectionOptions): string {
  const { redis, cluster, clusterOptions, connectTimeout } = options;
  return `${url}\n${JSON.stringify({ redis, cluster, clusterOptions, connectTimeout })}`;
}

/** Reconnect delay once a connection has been established: 50 ms doubling up to 2 s. */
const reconnectDelay = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

/**
 * A Redis connection handle that knows how to make more connections like itself (blocking readers
 * and subscribers need their own).
 */
export class RedisConnection {
  private constructor(
    /** The ioredis client. */
    readonly client: RedisClient,
    /** Whether this is a cluster client. */
    readonly isCluster: boolean,
    private readonly url: string,
    private readonly options: RedisConnectionOptions,
  ) {}

  /**
   * Opens a connection and waits until it is ready.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async open(url: string, options: RedisConnectionOptions = {}, extra: RedisOptions = {}): Promise<RedisConnection> {
    if (options.cluster === true) return new RedisConnection(await connectCluster(url, options, extra), true, url, options);
    const client = await connectStandalone(url, options, extra);
    if (options.cluster === false) return new RedisConnection(client, false, url, options);
    let info: string;
    try {
      info = String(await client.info('cluster'));
    } catch (error) {
      client.disconnect();
      throw error;
    }
    if (!/cluster_enabled:1/.test(info)) return new RedisConnection(client, false, url, { ...options, cluster: false });
    client.disconnect();
    return new RedisConnection(await connectCluster(url, options, extra), true, url, { ...options, cluster: true });
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
    let released = false;
    return {
      connection,
      release: async () => {
        if (released) return;
        released = true;
        if (--current.users > 0) return;
        if (shared.get(key) === current) shared.delete(key);
        await connection.quit();
      },
    };
  }

  /** Opens another connection to the same server(s), e.g. for a blocking read or a subscriber. */
  async duplicate(extra: RedisOptions = {}): Promise<RedisConnection> {
    return RedisConnection.open(this.url, this.options, extra);
  }

  /** Sends a command (auto-pipelined when the connection has that on). */
  command<T = unknown>(name: string, ...args: (string | number | Buffer)[]): Promise<T> {
    return (this.client as Redis).call(name, ...args) as Promise<T>;
  }

  /** Closes at once, dropping queued commands. Idempotent. */
  disconnect(): void {
    this.client.disconnect();
  }

  /** Closes after pending replies arrive (falls back to disconnect on error). Idempotent. */
  async quit(): Promise<void> {
    if (this.client.status === 'end') return;
    try {
      await Promise.race([this.client.quit(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    } catch {
      // NOTE: quitting a connection that is already broken rejects; disconnecting is all that is left.
    }
    this.client.disconnect();
  }
}

function waitReady(client: RedisClient, url: string, timeout: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    const timer = setTimeout(() => fail(lastError ?? new Error(`no answer within ${timeout} ms`)), timeout);
    const onError = (error: unknown) => {
      lastError = error;
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => fail(lastError);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('error', onError);
      client.off('ready', onReady);
      client.off('end', onEnd);
    };
    const fail = (error: unknown) => {
      cleanup();
      client.disconnect();
      reject(new RedisConnectionError(redactUrl(url), reasonOf(error), { cause: error }));
    };
    client.on('error', onError);
    client.once('ready', onReady);
    client.once('end', onEnd);
    client.connect().catch((error: unknown) => {
      lastError ??= error;
    });
  });
}

/** After the first `ready`, swallow `error` events (the client reconnects by itself). */
function keepQuiet(client: RedisClient): void {
  client.on('error', () => {});
}

async function connectStandalone(url: string, options: RedisConnectionOptions, extra: RedisOptions): Promise<Redis> {
  const timeout = options.connectTimeout ?? 3_000;
  const started = Date.now();
  let ready = false;
  const client = new Redis(url, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: null,
    ...options.redis,
    ...extra,
    lazyConnect: true,
    connectTimeout: Math.min(timeout, options.redis?.connectTimeout ?? timeout),
    retryStrategy: (times) => {
      if (ready) return reconnectDelay(times);
      return Date.now() - started + 100 < timeout ? 100 : null;
    },
  });
  keepQuiet(client);
  await waitReady(client, url, timeout);
  ready = true;
  return client;
}

async function connectCluster(url: string, options: RedisConnectionOptions, extra: RedisOptions): Promise<Cluster> {
  const timeout = options.connectTimeout ?? 3_000;
  const started = Date.now();
  let ready = false;
  const parsed = new URL(url);
  const redisOptions: RedisOptions = {
    ...options.redis,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: options.redis?.tls ?? {} } : {}),
  };
  const client = new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    enableAutoPipelining: extra.enableAutoPipelining ?? true,
    ...options.clusterOptions,
    lazyConnect: true,
    redisOptions: { ...redisOptions, ...options.clusterOptions?.redisOptions, maxRetriesPerRequest: null },
    clusterRetryStrategy: (times) => {
      if (ready) return reconnectDelay(times);
      return Date.now() - started + 100 < timeout ? 100 : null;
    },
  });
  keepQuiet(client);
  await waitReady(client, url, timeout);
  ready = true;
  return client;
}

export { redactUrl };
