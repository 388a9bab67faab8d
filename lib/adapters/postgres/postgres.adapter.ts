import type { AdapterConnectContext, AdapterSet } from '../registry/adapter-set.js';
import { PostgresBroker } from './postgres.broker.js';
import { PostgresControlStore } from './postgres.control-store.js';
import { PostgresGroupStore } from './postgres.group-store.js';
import { PostgresLockStore } from './postgres.lock-store.js';
import { PostgresRateLimiter } from './postgres.rate-limiter.js';
import { PostgresResultBackend } from './postgres.result-backend.js';
import { PostgresScheduleStore } from './postgres.schedule-store.js';
import { PostgresWorkflowStore } from './postgres.workflow-store.js';

const fromContext = ({ logger, tls }: AdapterConnectContext) => ({ ...(logger ? { logger } : {}), ...(tls ? { tls } : {}) });

/**
 * The stores behind `postgres://` and `postgresql://`. Each `connect` reads `?schema=` from the
 * URL itself; migration and pool log lines go to the factory's logger when it has one, and
 * connections with an `sslmode` use the factory's TLS settings.
 */
export const postgresAdapter: AdapterSet = {
  broker: (url, context) => PostgresBroker.connect(url, fromContext(context)),
  backend: (url, context) => PostgresResultBackend.connect(url, fromContext(context)),
  lockStore: (url, context) => PostgresLockStore.connect(url, fromContext(context)),
  rateLimiter: (url, context) => PostgresRateLimiter.connect(url, fromContext(context)),
  scheduleStore: (url, context) => PostgresScheduleStore.connect(url, fromContext(context)),
  groupStore: (url, context) => PostgresGroupStore.connect(url, fromContext(context)),
  workflowStore: (url, context) => PostgresWorkflowStore.connect(url, fromContext(context)),
  revokeStore: (url, context) => PostgresControlStore.connect(url, fromContext(context)),
};
