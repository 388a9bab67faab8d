import { afterAll, describe } from 'vitest';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('wf-contract');

describe.runIf(available)('Redis workflow store', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  // NOTE: the due and watcher indexes span runs, so each test gets keys of its own.
  let n = 0;
  runWorkflowStoreContractTests('redis', { create: async (clock) => RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:t${++n}`, clock }) });
});
