import type { AdapterConnectContext, AdapterSet } from '../registry/adapter-set.js';
import { RedisStreamsBroker } from './redis-streams.broker.js';
import { RedisControlStore } from './redis.control-store.js';
import { RedisGroupStore } from './redis.group-store.js';
import { RedisLockStore } from './redis.lock-store.js';
import { RedisRateLimiter } from './redis.rate-limiter.js';
import { RedisResultBackend } from './redis.result-backend.js';
import { RedisScheduleStore } from './redis.schedule-store.js';
import { RedisWorkflowStore } from './redis.workflow-store.js';

const withTls = ({ tls }: AdapterConnectContext) => (tls ? { tls } : {});

/**
 * The stores behind `redis://` and `rediss://`. Each `connect` reads `?prefix=` from the URL
 * itself, so a script connecting with the app's URL sees the app's keys; `rediss://` URLs use the
 * factory's TLS settings.
 */
export const redisAdapter: AdapterSet = {
  broker: (url, context) => RedisStreamsBroker.connect(url, withTls(context)),
  backend: (url, context) => RedisResultBackend.connect(url, withTls(context)),
  lockStore: (url, context) => RedisLockStore.connect(url, withTls(context)),
  rateLimiter: (url, context) => RedisRateLimiter.connect(url, withTls(context)),
  scheduleStore: (url, context) => RedisScheduleStore.connect(url, withTls(context)),
  groupStore: (url, context) => RedisGroupStore.connect(url, withTls(context)),
  workflowStore: (url, context) => RedisWorkflowStore.connect(url, withTls(context)),
  revokeStore: (url, context) => RedisControlStore.connect(url, withTls(context)),
};
