import type { AdapterSet } from '../registry/adapter-set.js';
import { InMemoryBroker } from './in-memory.broker.js';
import { InMemoryControlStore } from './in-memory.control-store.js';
import { InMemoryGroupStore } from './in-memory.group-store.js';
import { InMemoryLockStore } from './in-memory.lock-store.js';
import { InMemoryRateLimiter } from './in-memory.rate-limiter.js';
import { InMemoryResultBackend } from './in-memory.result-backend.js';
import { InMemoryScheduleStore } from './in-memory.schedule-store.js';
import { InMemoryWorkflowStore } from './in-memory.workflow-store.js';

/** The stores behind `memory://`: each URL use is a new, process-local store. */
export const memoryAdapter: AdapterSet = {
  broker: async () => new InMemoryBroker(),
  backend: async () => new InMemoryResultBackend(),
  lockStore: async () => new InMemoryLockStore(),
  rateLimiter: async () => new InMemoryRateLimiter(),
  scheduleStore: async () => new InMemoryScheduleStore(),
  groupStore: async () => new InMemoryGroupStore(),
  revokeStore: async () => new InMemoryControlStore(),
  workflowStore: async () => new InMemoryWorkflowStore(),
};
