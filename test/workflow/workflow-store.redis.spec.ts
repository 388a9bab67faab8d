import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { runWorkflowRetentionContractTests } from '../../lib/testing/workflow-retention.contract.js';
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
  runWorkflowRetentionContractTests('redis', { create: async (clock, options) => RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:t${++n}`, clock, ...options }) });

  it("an ended run's keys get a Redis expiry of the retention; a rewind lifts it", async () => {
    const keyPrefix = `${prefix}:ttl`;
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: keyPrefix, retention: '1h' });
    const redis = new Redis(REDIS_URL);
    try {
      const run = await store.createRun({ workflow: 'ttl', params: {} });
      await store.saveStep(run.id, 'a', 1);
      const keys = [`${keyPrefix}:wf:run:{${run.id}}`, `${keyPrefix}:wf:run:{${run.id}}:order`, `${keyPrefix}:wf:run:{${run.id}}:steps`];
      expect(await Promise.all(keys.map((k) => redis.pttl(k)))).toEqual([-1, -1, -1]);
      await store.markCompleted(run.id, 1);
      for (const ttl of await Promise.all(keys.map((k) => redis.pttl(k)))) expect(ttl).toBeGreaterThan(3_590_000);
      await store.rewindToStep(run.id, 'a');
      expect(await Promise.all(keys.slice(0, 2).map((k) => redis.pttl(k)))).toEqual([-1, -2]);
    } finally {
      redis.disconnect();
      await store.close();
    }
  });
});
