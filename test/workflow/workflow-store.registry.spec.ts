import { describe, expect, it } from 'vitest';
import { createStemAdapters } from '../../lib/adapters/index.js';
import { InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { isolatedPostgresUrl, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const redis = await redisAvailable();
const postgres = await postgresAvailable();

describe('workflow store chosen by URL', () => {
  it("defaults to the broker's store, and workflowStore: false creates none", async () => {
    const none = await createStemAdapters({ broker: 'memory://', workflowStore: false });
    expect(none.workflowStore).toBeNull();
    await none.close();
    const memory = await createStemAdapters({ broker: 'memory://' });
    expect(memory.workflowStore).toBeInstanceOf(InMemoryWorkflowStore);
    await memory.close();
  });

  it.runIf(redis)("defaults to the broker's Redis, prefix included", async () => {
    const prefix = uniquePrefix('wf-registry');
    const adapters = await createStemAdapters({ broker: `${REDIS_URL}?prefix=${prefix}` });
    try {
      expect(adapters.workflowStore).toBeInstanceOf(RedisWorkflowStore);
      const run = await adapters.workflowStore!.createRun({ workflow: 'registry', params: {} });
      const direct = await RedisWorkflowStore.connect(REDIS_URL, { prefix });
      expect((await direct.get(run.id))?.workflow).toBe('registry');
      await direct.close();
    } finally {
      await adapters.close();
      await deleteKeys(REDIS_URL, prefix);
    }
  });

  it.runIf(postgres)('takes its own URL: a Postgres schema while the broker is in memory', async () => {
    const db = isolatedPostgresUrl('stem_wf_registry');
    const adapters = await createStemAdapters({ broker: 'memory://', workflowStore: db.url });
    try {
      expect(adapters.workflowStore).toBeInstanceOf(PostgresWorkflowStore);
      const run = await adapters.workflowStore!.createRun({ workflow: 'registry', params: { a: 1 } });
      expect(await adapters.workflowStore!.get(run.id)).toMatchObject({ params: { a: 1 } });
    } finally {
      await adapters.close();
      await db.drop();
    }
  });
});
