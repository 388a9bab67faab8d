import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { childSignalName, INTERNAL_STEP_PREFIX } from '../../lib/core/workflow/workflow.constants.js';
import { UNFINISHED_END_GRACE } from '../../lib/adapters/redis/redis.workflow-index.js';
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

describe.runIf(available)('Redis workflow store: a child whose end stopped half way', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:half`));

  it("still wakes its parent: the recovery sweep sends the signal the child's process did not", async () => {
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:half` });
    try {
      const parent = await store.createRun({ workflow: 'parent', params: {} });
      const child = await store.createRun({ workflow: 'child', params: {}, runId: `${parent.id}.startChild#0`, parentRunId: parent.id });
      const signal = childSignalName(child.id);
      expect(await store.suspendOnSignal(parent.id, `${INTERNAL_STEP_PREFIX}waitForChild#0`, signal)).toBe(true);

      // The child's process stops right after the end script: the parent's signal is never sent.
      const send = store.sendSignal.bind(store);
      store.sendSignal = () => Promise.reject(new Error('process stopped'));
      await expect(store.markCompleted(child.id, { total: 42 })).rejects.toThrow('process stopped');
      store.sendSignal = send;
      expect((await store.get(child.id))?.status).toBe('completed');
      expect(await store.listSignals(parent.id)).toEqual([]);

      // A sweep soon after leaves a possibly still running end alone; one after the grace finishes it.
      const ended = (await store.get(child.id))!.updatedAt;
      await store.listRunnableRuns({ now: ended + 1_000 });
      expect(await store.listSignals(parent.id)).toEqual([]);
      await store.listRunnableRuns({ now: ended + UNFINISHED_END_GRACE + 1 });
      const signals = await store.listSignals(parent.id);
      expect(signals.map((s) => [s.name, (s.payload as { status: string; result: unknown }).status, (s.payload as { result: unknown }).result])).toEqual([
        [signal, 'completed', { total: 42 }],
      ]);
      expect(await store.dueRuns(Date.now() + 1)).toEqual([parent.id]);

      // Finished once: a later sweep sends nothing more.
      await store.listRunnableRuns({ now: ended + 2 * UNFINISHED_END_GRACE });
      expect(await store.listSignals(parent.id)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
