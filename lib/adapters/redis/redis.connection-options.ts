import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { StemTlsOptions } from '../tls/stem-tls.options.js';
import type { RedisHealthOptions } from './redis.health.js';

/** A standalone or cluster ioredis client. */
export type RedisClient = Redis | Cluster;

/** Connection options shared by every Redis adapter. */
export interface RedisConnectionOptions extends RedisHealthOptions {
  /**
   * First segment of every key and channel, so several deployments can share one Redis.
   * @default 'stem'
   */
  readonly prefix?: string;
  /**
   * Extra ioredis options (password, username, db, timeouts...). A `tls` object here is merged
   * over the one built from {@link RedisConnectionOptions.tls} (its fields win).
   */
  readonly redis?: RedisOptions;
  /**
   * CA, client certificate and key for `rediss://` URLs (PEM file paths, PEM text or bytes), and
   * `allowInsecure` to skip verifying the server. Only `rediss://` URLs use these; a `redis://`
   * URL connects in plain text (unless `redis.tls` is given, which ioredis honours as it is).
   * @default the system's trusted CAs, no client certificate
   */
  readonly tls?: StemTlsOptions;
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
  /** Called with connection trouble found in the background (a dead connection being replaced). */
  readonly onError?: (error: unknown) => void;
}
