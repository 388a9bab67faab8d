import { importAdapterDriver } from './adapter-driver-missing.error.js';
import { registerAdapter } from './adapter-registry.js';

// The stores that ship with Stem register like any other: one folder, one registration. Redis and
// Postgres load on first use, so `ioredis` and `pg` stay optional.
registerAdapter('memory', async () => (await import('../memory/memory.adapter.js')).memoryAdapter);
registerAdapter(['redis', 'rediss'], async () => (await importAdapterDriver('ioredis', () => import('../redis/redis.adapter.js'))).redisAdapter);
registerAdapter(['postgres', 'postgresql'], async () => (await importAdapterDriver('pg', () => import('../postgres/postgres.adapter.js'))).postgresAdapter);
