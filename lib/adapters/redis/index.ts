/**
 * Redis adapters for Stem (`nestjs-stem/redis`): install `ioredis` next to `nestjs-stem`.
 *
 * @example
 * import { RedisResultBackend, RedisStreamsBroker } from 'nestjs-stem/redis';
 * const broker = await RedisStreamsBroker.connect('redis://127.0.0.1:6379');
 * const backend = await RedisResultBackend.connect('redis://127.0.0.1:6379');
 */
export { RedisStreamsBroker, type RedisStreamsBrokerOptions } from './redis-streams.broker.js';
export { RedisResultBackend, type RedisResultBackendOptions } from './redis.result-backend.js';
export { RedisLockStore } from './redis.lock-store.js';
export { RedisRateLimiter } from './redis.rate-limiter.js';
export { RedisConnectionError } from './redis-connection.error.js';
export { RedisDeadConnectionError } from './redis-dead-connection.error.js';
export { type RedisConnectionOptions, redactUrl } from './redis.connection.js';
export { REDIS_HEALTH_DEFAULTS, type RedisHealthOptions } from './redis.health.js';
export { RedisScheduleStore, type RedisScheduleStoreOptions } from './redis.schedule-store.js';
export { RedisGroupStore, type RedisGroupStoreOptions } from './redis.group-store.js';
export { resolveRedisUrl } from './redis.url.js';
export { DEFAULT_WORKFLOW_RETENTION, RedisWorkflowStore, type RedisWorkflowStoreOptions } from './redis.workflow-store.js';
export { RedisControlStore, type RedisControlStoreOptions } from './redis.control-store.js';
export type { StemTlsOptions } from '../tls/stem-tls.options.js';
