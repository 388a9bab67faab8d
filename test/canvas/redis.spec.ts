import { afterAll, describe } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { RedisGroupStore } from '../../lib/adapters/redis/redis.group-store.js';
import { runGroupStoreContractTests } from '../../lib/testing/group-store.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { runBatchTests } from './batches.suite.js';
import { runCanvasTests } from './canvas.suite.js';

const available = await redisAvailable();
const prefix = uniquePrefix('canvas');

describe.runIf(available)('Redis canvas', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  runGroupStoreContractTests('redis', { create: () => RedisGroupStore.connect(REDIS_URL, { prefix }) });

  const opened: { close(): Promise<void> }[] = [];
  const factory = {
    create: async () => {
      const parts = {
        broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }),
        backend: await RedisResultBackend.connect(REDIS_URL, { prefix }),
        groupStore: await RedisGroupStore.connect(REDIS_URL, { prefix }),
      };
      opened.push(parts.broker, parts.backend, parts.groupStore);
      return parts;
    },
    dispose: async () => {
      for (const c of opened.splice(0)) await c.close();
    },
  };
  runCanvasTests('redis', factory);
  runBatchTests('redis', factory);
});
