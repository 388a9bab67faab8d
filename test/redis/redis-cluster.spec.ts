import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLockStore, RedisRateLimiter, RedisResultBackend, RedisStreamsBroker, RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { runBrokerContractTests } from '../../lib/testing/broker.contract.js';
import { fetchWithin, makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';
import { runLockStoreContractTests } from '../../lib/testing/lock-store.contract.js';
import { runRateLimiterContractTests } from '../../lib/testing/rate-limiter.contract.js';
import { runResultBackendContractTests } from '../../lib/testing/result-backend.contract.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';
import { redisAvailable } from '../support/services.js';
import { RedisClusterFixture, redisCli } from './redis-server.js';

const available = await redisAvailable();

describe.runIf(available)('Redis adapters on a 3-node Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  const url = () => cluster.url;

  beforeAll(async () => {
    cluster = await RedisClusterFixture.start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('detects cluster mode and keeps every key of a queue on one slot', async () => {
    const broker = await RedisStreamsBroker.connect(url());
    try {
      expect(broker.connection.isCluster).toBe(true);
      const queue = uniqueName('slot');
      await broker.publish(makeEnvelope(queue));
      await broker.publish(makeEnvelope(queue, { notBefore: Date.now() + 60_000 }));
      const consumer = broker.consume({ queues: [queue], consumerName: 'slot-test' });
      const [d] = await fetchWithin(consumer, 1, 2_000);
      await broker.deadLetter(d!, 'x');
      await consumer.close();
      const keys = [...Array.from({ length: 10 }, (_, p) => `stem:{${queue}}:stream:p${p}`), `stem:{${queue}}:delayed`, `stem:{${queue}}:leases`, `stem:{${queue}}:dead`];
      const slots = new Set(await Promise.all(keys.map(async (k) => (await redisCli(cluster.nodes[0]!.port, 'cluster', 'keyslot', k)).trim())));
      expect(slots.size).toBe(1);
      expect((await broker.listDeadLetters(queue)).items).toHaveLength(1);
      expect(await broker.purge(queue)).toBe(1);
    } finally {
      await broker.close();
    }
  });

  runBrokerContractTests('redis cluster', { create: () => RedisStreamsBroker.connect(url()) });
  runResultBackendContractTests('redis cluster', { create: () => RedisResultBackend.connect(url()) });
  runLockStoreContractTests('redis cluster', { create: () => RedisLockStore.connect(url()) });
  runRateLimiterContractTests('redis cluster', { create: () => RedisRateLimiter.connect(url()) });
  let wfPrefix = 0;
  runWorkflowStoreContractTests('redis cluster', { create: (clock) => RedisWorkflowStore.connect(url(), { prefix: `wf${++wfPrefix}`, clock }) });
});
