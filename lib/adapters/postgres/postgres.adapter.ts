import type { AdapterConnectContext, AdapterSet } from '../registry/adapter-set.js';
import { PostgresBroker } from './postgres.broker.js';
import { PostgresControlStore } from './postgres.control-store.js';
import { PostgresGroupStore } from './postgres.group-store.js';
import { PostgresLockStore } from './postgres.lock-store.js';
import { PostgresRateLimiter } from './postgres.rate-limiter.js';
import { PostgresResultBackend } from './postgres.result-backend.js';
import { PostgresScheduleStore } from './postgres.schedule-store.js';
import { PostgresWorkflowStore } from './postgres.workflow-store.js';

const withLogger = ({ logger }: AdapterConnectContext) => (logger ? { logger } : {});

/**
 * The stores behind `postgres://` and `postgresql://`. Each `connect` reads `?schema=` from the
 * URL itself; migration and pool log lines go to the factory's logger when it has one.
 */
export const postgresAdapter: AdapterSet = {
  broker: (url, context) => PostgresBroker.connect(url, withLogger(context)),
  backend: (url, context) => PostgresResultBackend.connect(url, withLogger(context)),
  lockStore: (url, context) => PostgresLockStore.connect(url, withLogger(context)),
  rateLimiter: (url, context) => PostgresRateLimiter.connect(url, withLogger(context)),
  scheduleStore: (url, context) => PostgresScheduleStore.connect(url, withLogger(context)),
  groupStore: (url, context) => PostgresGroupStore.connect(url, withLogger(context)),
  workflowStore: (url, context) => PostgresWorkflowStore.connect(url, withLogger(context)),
  revokeStore: (url, context) => PostgresControlStore.connect(url, withLogger(context)),
};
