import { PostgresBroker } from 'nestjs-stem/postgres';
import { RedisResultBackend, RedisStreamsBroker } from 'nestjs-stem/redis';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/app';
const logger = { warn: (message: string) => console.warn(message) };

// #region redis
const health = {
  healthCheckInterval: 5_000, // PING idle connections; a blocking read waits at most this long
  deadConnectionTimeout: 10_000, // no reply within this: the connection is dead and replaced
  commandTimeout: 15_000, // fail a single command after this (off by default)
  keepAlive: 10_000, // TCP keepalive: first probe after 10 s of silence
  onError: (error: unknown) => logger.warn(String(error)), // RedisDeadConnectionError, ...
};
const broker = await RedisStreamsBroker.connect(redisUrl, health);
const backend = await RedisResultBackend.connect(redisUrl, health); // same options: one shared connection
// #endregion

// #region postgres
const jobs = await PostgresBroker.connect(databaseUrl, {
  connectTimeout: 10_000, // a new connection must be up within this
  queryTimeout: 30_000, // client-side: fires on a black-holed path too; the connection is discarded
  keepAlive: 10_000,
  healthCheckInterval: 5_000, // SELECT 1 on the LISTEN connection
  deadConnectionTimeout: 10_000, // then it is replaced, and missed notifications are caught up
  logger: { info: () => {}, warn: (message, error) => logger.warn(`${message}: ${String(error)}`) },
});
// #endregion

console.log(broker.name, backend.name, jobs.name);
await Promise.all([broker.close(), backend.close(), jobs.close()]);
