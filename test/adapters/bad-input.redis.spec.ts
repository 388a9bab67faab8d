import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { deepEnvelope, malformedPatches, rawEnvelope, runBadInputTests } from './bad-input.suite.js';

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

  runBadInputTests(async () => {
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    return {
      broker,
      backend,
      inject: async (queue, phase) => {
        const stream = (p: number) => key(queue, `stream:p${p}`);
        const valid = (label: string) => rawEnvelope(queue, { args: { i: label } });
        if (phase === 'before') {
          // the same entry id on two priority streams, and two entries sharing a task id
          await raw.xadd(stream(0), '1-1', 'e', '{not json', 'v', '');
          await raw.xadd(stream(4), '1-1', 'e', '{not json either', 'v', '');
          await raw.xadd(stream(6), '*', 'e', rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }), 'v', '');
          await raw.xadd(stream(6), '*', 'e', rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }), 'v', '');
          const patches = malformedPatches();
          for (const [i, patch] of patches.entries()) await raw.xadd(stream(i % 10), '*', 'e', rawEnvelope(queue, patch), 'v', '');
          return { malformed: 4 + patches.length, valid: [] };
        }
        // NOTE: a lease field that is not a lease, in the stream the valid tasks of priority 9 share.
        await raw.xadd(stream(9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-nan' } }), 'v', 'nan');
        await raw.xadd(stream(9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-inf' } }), 'v', 'inf');
        await raw.xadd(stream(9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-0' } }), 'v', '0');
        await raw.xadd(stream(2), '*', 'e', deepEnvelope(queue, 10_000), 'v', '');
        await raw.xadd(stream(3), '*', 'x', 'no envelope field');
        await raw.xadd(stream(5), '*', 'e', valid('raw-valid'), 'v', '5000');
        await raw.zadd(key(queue, 'delayed'), 0, 'not a delayed member');
        await raw.zadd(key(queue, 'leases'), 0, 'x:not-a-lease');
        return { malformed: 6, valid: ['raw-valid'] };
      },
      stranded: async (queue) => {
        let pending = 0;
        for (let p = 0; p < 10; p++) {
          const reply = (await raw.xpending(key(queue, `stream:p${p}`), 'stem-workers').catch(() => [0])) as [number];
          pending += Number(reply[0] ?? 0);
        }
        return pending + (await raw.zcard(key(queue, 'leases'))) + (await raw.zcard(key(queue, 'delayed')));
      },
      checkDeadLetters: async (queue, dead) => {
        const ids = dead.map((d) => d.envelope.id);
        expect(ids.filter((id) => id === 'malformed:0:1-1' || id === 'malformed:4:1-1').sort()).toEqual(['malformed:0:1-1', 'malformed:4:1-1']);
        expect(ids.filter((id) => id === 'dup-1')).toHaveLength(2);
        expect((await broker.getDeadLetter(queue, 'dup-1'))?.reason).toBe('malformed-envelope');
        const nan = dead.find((d) => JSON.stringify(d.meta).includes('lease field \\"nan\\"'));
        expect(nan?.meta.raw).toContain('lease-nan');
      },
      close: async () => {
        await broker.close();
        await backend.close();
      },
    };
  });

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
      await sleep(700);
      expect((await broker.listDeadLetters(queue)).items).toEqual([]);
      expect(await broker.getDeadLetter(queue, first.id)).toBeNull();
      expect(await raw.zcard(key(queue, 'dead:by-task'))).toBe(0);
      expect(await raw.hlen(key(queue, 'dead:entries'))).toBe(0);
    } finally {
      await broker.close();
    }
  });
});
