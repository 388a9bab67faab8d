import type { AdapterSet } from '../registry/adapter-set.js';
import { RedisStreamsBroker } from './redis-streams.broker.js';
import { RedisControlStore } from './redis.control-store.js';
import { RedisGroupStore } from './redis.group-store.js';
import { RedisLockStore } from './redis.lock-store.js';
import { RedisRateLimiter } from './redis.rate-limiter.js';
import { RedisResultBackend } from './redis.result-backend.js';
import { RedisScheduleStore } from './redis.schedule-store.js';
import { RedisWorkflowStore } from './redis.workflow-store.js';

/**
 * The stores behind `redis://` and `rediss://`. Each `connect` reads `?prefix=` from the URL
 * itself, so a script connecting with the app's URL sees the app's keys.
 */
export const redisAdapter: AdapterSet = {
  broker: (url) => RedisStreamsBroker.connect(url),
  backend: (url) => RedisResultBackend.connect(url),
  lockStore: (url) => RedisLockStore.connect(url),
  rateLimiter: (url) => RedisRateLimiter.connect(url),
  scheduleStore: (url) => RedisScheduleStore.connect(url),
  groupStore: (url) => RedisGroupStore.connect(url),
  workflowStore: (url) => RedisWorkflowStore.connect(url),
  revokeStore: (url) => RedisControlStore.connect(url),
};
