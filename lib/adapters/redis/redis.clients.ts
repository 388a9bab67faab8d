import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { redactUrl } from '../../core/utils/redact-url.js';
import { warnInsecureTls } from '../tls/insecure-tls.warning.js';
import { tlsFailureHint } from '../tls/tls-failure.js';
import { nodeTlsOptions } from '../tls/tls-material.js';
import { RedisConnectionError } from './redis-connection.error.js';
import type { RedisClient, RedisConnectionOptions } from './redis.connection-options.js';
import { keepAliveOption } from './redis.health.js';

function reasonOf(error: unknown): string {
  if (!error) return 'connection closed';
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(error);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Reconnect delay once a connection has been established: 50 ms doubling up to 2 s. */
const reconnectDelay = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

/**
 * The TLS options of a `rediss://` URL: the CA, client certificate and key of `options.tls`
 * (files read), with the fields of an explicit `options.redis.tls` on top. `undefined` for
 * other URLs, which keep whatever `options.redis` says.
 *
 * @throws ConfigurationError naming the TLS setting whose file cannot be read
 */
export function redisTlsOptions(url: string, options: RedisConnectionOptions): ConnectionOptions | undefined {
  if (!/^rediss:/i.test(url)) return undefined;
  const explicit = options.redis?.tls;
  const tls = { ...nodeTlsOptions(options.tls), ...(typeof explicit === 'object' ? explicit : {}) };
  if (tls.rejectUnauthorized === false) warnInsecureTls(redactUrl(url));
  return tls;
}

function waitReady(client: RedisClient, url: string, timeout: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    const timer = setTimeout(() => fail(lastError ?? new Error(`no answer within ${timeout} ms`)), timeout);
    const onError = (error: unknown) => {
      lastError = error;
      // NOTE: a certificate problem does not go away by retrying; report it at once.
      if (tlsFailureHint(error)) fail(error);
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
      const hint = tlsFailureHint(error, hostOf(url));
      reject(new RedisConnectionError(redactUrl(url), reasonOf(error), { cause: error, ...(hint ? { hint } : {}) }));
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

/**
 * A standalone client, ready.
 * @throws RedisConnectionError when Redis does not answer within `connectTimeout`, or at once on a TLS certificate problem
 */
export async function connectStandalone(url: string, options: RedisConnectionOptions, extra: RedisOptions): Promise<Redis> {
  const timeout = options.connectTimeout ?? 3_000;
  const started = Date.now();
  let ready = false;
  const tls = redisTlsOptions(url, options);
  const client = new Redis(url, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: null,
    ...keepAliveOption(options),
    ...options.redis,
    ...(tls ? { tls } : {}),
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

/**
 * A cluster client, ready; every node is reached with the URL's credentials and TLS settings.
 * @throws RedisConnectionError when the cluster does not answer within `connectTimeout`, or at once on a TLS certificate problem
 */
export async function connectCluster(url: string, options: RedisConnectionOptions, extra: RedisOptions): Promise<Cluster> {
  const timeout = options.connectTimeout ?? 3_000;
  const started = Date.now();
  let ready = false;
  const parsed = new URL(url);
  const tls = redisTlsOptions(url, options);
  const redisOptions: RedisOptions = {
    ...keepAliveOption(options),
    ...options.redis,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(tls ? { tls } : {}),
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
