import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { redisBadInputFixture } from './bad-input.fixtures.js';
import { runBadInputTests } from './bad-input.suite.js';

const available = await redisAvailable();
const prefix = uniquePrefix('badinput');

describe.runIf(available)('RedisStreamsBroker with bad input', () => {
  let raw: Redis;
  beforeAll(() => {
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    raw.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });
  const key = (queue: string, suffix: string) => `${prefix}:{${queue}}:${suffix}`;

  runBadInputTests(() => redisBadInputFixture(prefix));

  const deadLetterOne = async (broker: RedisStreamsBroker, queue: string) => {
    const consumer = broker.consume({ queues: [queue], consumerName: `c-${randomBytes(3).toString('hex')}` });
    const envelope = makeEnvelope(queue);
    await broker.publish(envelope);
    await broker.deadLetter((await fetchWithin(consumer, 1, 2_000))[0]!, 'expired');
    await consumer.close();
    return envelope;
  };

  it('deletes dead letters past the retention when the next dead letter is written', async () => {
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix, deadLetterRetention: 300, deadLetterSweepInterval: 3_600_000 });
    try {
      const queue = uniqueName('ret');
      const old = await deadLetterOne(broker, queue);
      await sleep(400);
      expect(await broker.getDeadLetter(queue, old.id)).not.toBeNull();
      const fresh = await deadLetterOne(broker, queue);
      expect((await broker.listDeadLetters(queue)).items.map((d) => d.envelope.id)).toEqual([fresh.id]);
      expect(await broker.getDeadLetter(queue, old.id)).toBeNull();
    } finally {
      await broker.close();
    }
  });

  it('deletes dead letters past the retention in a periodic sweep', async () => {
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix, deadLetterRetention: 300, deadLetterSweepInterval: 100 });
    try {
      const queue = uniqueName('ret');
      const first = await deadLetterOne(broker, queue);
      expect((await broker.listDeadLetters(queue)).items).toHaveLength(1);
      // Past its retention after 300 ms, swept every 100 ms: wait for the sweep (up to 10 s), since a
      // loaded machine can delay it beyond any fixed wait.
      const deadline = Date.now() + 10_000;
      let left = (await broker.listDeadLetters(queue)).items;
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(100);
        left = (await broker.listDeadLetters(queue)).items;
      }
      expect(left).toEqual([]);
      expect(await broker.getDeadLetter(queue, first.id)).toBeNull();
      expect(await raw.zcard(key(queue, 'dead:by-task'))).toBe(0);
      expect(await raw.hlen(key(queue, 'dead:entries'))).toBe(0);
    } finally {
      await broker.close();
    }
  });
});
