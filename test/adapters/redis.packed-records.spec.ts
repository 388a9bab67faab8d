import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { queueScriptKeys } from '../../lib/adapters/redis/redis-envelope.codec.js';
import { RedisKeys } from '../../lib/adapters/redis/redis.keys.js';
import { scripts } from '../../lib/adapters/redis/scripts/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { fetchAll, uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('packed-records');
const registry = new SimpleTaskRegistry([{ name: 'report.build', call: () => 1 }]);

describe.runIf(available)('Redis: the records and packed statuses the scripts split', () => {
  let broker: RedisStreamsBroker;
  let backend: RedisResultBackend;
  let stem: Stem;
  let raw: Redis;
  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    backend = await RedisResultBackend.connect(REDIS_URL, { prefix, recordArgs: { maxBytes: 1_000_000 } });
    stem = new Stem({ broker, backend, registry });
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await broker.close();
    await backend.close();
    raw.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('keeps large arguments, results and every meta value (empty ones included) as they were sent', async () => {
    const queue = uniqueName('q');
    const text = 'é∑'.repeat(50_000);
    const meta = { tenant: 'acme', empty: '', nested: { list: [1, 2, 3], text: 'a|b' } };
    const id = await stem.enqueue('report.build', { text }, { queue, meta });
    expect(await backend.getWithArgs(id)).toMatchObject({ state: 'queued', name: 'report.build', queue, meta, args: { text } });
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const [delivery] = await fetchAll(consumer, 1, 5_000);
      expect(delivery!.envelope.args).toEqual({ text });
    } finally {
      await consumer.close();
    }
    await Promise.all([
      backend.set(id, { state: 'running', attempt: 0, meta: { worker: 'w1' } }),
      backend.set(id, { state: 'succeeded', attempt: 0, payload: { text, n: 1 }, meta: { done: true } }),
    ]);
    expect(await backend.get(id)).toMatchObject({ state: 'succeeded', payload: { text, n: 1 }, meta: { ...meta, worker: 'w1', done: true } });
  });

  it('refuses a publish-queued record that lacks a field, writing nothing of the call', async () => {
    const queue = uniqueName('q');
    const keys = new RedisKeys(prefix);
    const queueKeys = keys.queue(queue);
    const head = [Date.now(), keys.statusPrefix, keys.statusChannelPrefix, keys.statusIndexQueuePrefix, ''];
    const good = `0\x1d\x1d0\x1dok-1\x1f86400000\x1f\x1fqueued\x1f0\x1freport.build\x1f${queue}\x1f\x1f\x1d{"id":"ok-1"}\x1e`;
    const short = `0\x1d\x1d0\x1d{"id":"short-1"}\x1e`;
    const run = (records: string) =>
      scripts.publishQueued.run(broker.connection, [...queueScriptKeys(queueKeys), keys.statusIndexQueues, keys.statusWatching, keys.queueNames], [...head, records]);
    // NOTE: the byte is 1-based, and `good` is all ASCII.
    await expect(run(good + short)).rejects.toThrow(`malformed record at byte ${good.length + 1}`);
    await expect(run(`x\x1d\x1d0\x1dok-1\x1f1\x1f\x1fqueued\x1f0\x1f\x1f\x1f\x1f\x1d{}\x1e`)).rejects.toThrow(/malformed record at byte 1$/);
    expect(await raw.xlen(queueKeys.streams[0]!)).toBe(0);
    expect(await backend.get('ok-1')).toBeNull();
    await expect(run(good)).resolves.toBe(1);
    expect(await raw.xlen(queueKeys.streams[0]!)).toBe(1);
    expect(await backend.get('ok-1')).toMatchObject({ state: 'queued', name: 'report.build', queue });
  });
});
