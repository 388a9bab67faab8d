import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import type { Delivery } from '../../lib/core/contracts/broker.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';
import { redisRequestsDuring } from '../redis/redis-requests.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('consumer-drained');
describe.runIf(available)('Redis consumer: a fetch that drained its queues lets the next one block at once', () => {
  let broker: RedisStreamsBroker;
  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix, blockTime: 5_000 });
  });
  afterAll(async () => {
    await broker.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('blocks without asking again, and still gets what was published between the two fetches', async () => {
    const queue = uniqueName('drained');
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      await broker.publish(makeEnvelope(queue, { id: 'first' }));
      const first = await consumer.fetch(10, AbortSignal.timeout(5_000));
      expect(first.map((d) => d.envelope.id)).toEqual(['first']);
      // NOTE: published after the draining fetch and before the next one: the block must see it.
      await broker.publish(makeEnvelope(queue, { id: 'between' }));
      let second: Delivery[] = [];
      const sent = await redisRequestsDuring(async () => (second = await consumer.fetch(10, AbortSignal.timeout(5_000))), { names: 'scripts' });
      expect(second.map((d) => d.envelope.id)).toEqual(['between']);
      expect(sent).toEqual(['xread (blocking)', 'fetch']);
      await Promise.all([...first, ...second].map((d) => broker.ack(d)));
    } finally {
      await consumer.close();
    }
  });

  it('wakes for a delayed task that comes due after a draining fetch, long before the block time', async () => {
    const queue = uniqueName('drained-delayed');
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      await broker.publish(makeEnvelope(queue, { id: 'now' }));
      await broker.publish(makeEnvelope(queue, { id: 'soon', notBefore: Date.now() + 400 }));
      const first = await consumer.fetch(10, AbortSignal.timeout(5_000));
      expect(first.map((d) => d.envelope.id)).toEqual(['now']);
      const started = Date.now();
      const second = await consumer.fetch(10, AbortSignal.timeout(5_000));
      expect(second.map((d) => d.envelope.id)).toEqual(['soon']);
      expect(Date.now() - started).toBeLessThan(2_500);
      await Promise.all([...first, ...second].map((d) => broker.ack(d)));
    } finally {
      await consumer.close();
    }
  });

  it('asks every queue again when one of them was not drained', async () => {
    const [a, b] = [uniqueName('full'), uniqueName('other')];
    const consumer = broker.consume({ queues: [a, b], consumerName: 'c1' });
    try {
      await broker.publishBatch(Array.from({ length: 3 }, (_, i) => makeEnvelope(a, { id: `a${i}` })));
      const first = await consumer.fetch(2, AbortSignal.timeout(5_000));
      expect(first).toHaveLength(2);
      const second = await consumer.fetch(10, AbortSignal.timeout(5_000));
      expect(second.map((d) => d.envelope.id)).toEqual(['a2']);
      await Promise.all([...first, ...second].map((d) => broker.ack(d)));
    } finally {
      await consumer.close();
    }
  });
});
