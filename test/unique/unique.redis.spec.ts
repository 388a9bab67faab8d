import { afterAll, describe, expect, it } from 'vitest';
import { RedisLockStore, RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { Stem, UniqueMeta, UniqueTaskCoordinator } from '../../lib/core/index.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { itRecordsEveryConcurrentDuplicate } from './duplicates.suite.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('unique');

describe.runIf(available)('unique tasks on Redis', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  it('publishes 10 concurrent identical enqueues from two producers once and returns one id', async () => {
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    const locksA = await RedisLockStore.connect(REDIS_URL, { prefix });
    const locksB = await RedisLockStore.connect(REDIS_URL, { prefix });
    try {
      const a = new Stem({ broker, backend, uniqueCoordinator: new UniqueTaskCoordinator({ lockStore: locksA }) });
      const b = new Stem({ broker, backend, uniqueCoordinator: new UniqueTaskCoordinator({ lockStore: locksB }) });
      const queue = `unique-${prefix}`;
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).enqueue('orders.sync', { orderId: 7 }, { unique: true, queue })));
      expect(new Set(ids).size).toBe(1);
      expect(await broker.pendingCount(queue)).toBe(1);
      const status = await a.getTaskStatus(ids[0]!);
      expect(status!.meta[UniqueMeta.duplicates] as unknown[]).toHaveLength(9);
    } finally {
      for (const c of [broker, backend, locksA, locksB]) await c.close();
    }
  });

  itRecordsEveryConcurrentDuplicate(
    async () => ({
      broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }),
      backend: await RedisResultBackend.connect(REDIS_URL, { prefix }),
      lockStore: await RedisLockStore.connect(REDIS_URL, { prefix }),
    }),
    `unique-dups-${prefix}`,
  );
});
