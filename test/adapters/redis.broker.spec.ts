import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnectionError, RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import type { Consumer, Delivery } from '../../lib/core/contracts/broker.js';
import { fetchAll, fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { sparePort } from '../redis/redis-server.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('broker');

describe.runIf(available)('RedisStreamsBroker specifics', () => {
  let broker: RedisStreamsBroker;
  let raw: Redis;
  const consumers: Consumer[] = [];
  const consume = (queue: string, lease = 1_000) => {
    const c = broker.consume({ queues: [queue], consumerName: uniqueName('c'), defaultVisibilityTimeout: lease });
    consumers.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    raw = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.close();
  });
  afterAll(async () => {
    await broker.close();
    raw.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('dead-letters an undecodable stream entry as malformed-envelope and keeps consuming', async () => {
    const queue = uniqueName('q');
    await raw.xadd(`${prefix}:{${queue}}:stream:p0`, '*', 'e', '{not json', 'v', '');
    const good = makeEnvelope(queue);
    await broker.publish(good);
    const got = await fetchAll(consume(queue), 1, 2_000);
    expect(got.map((d) => d.envelope.id)).toEqual([good.id]);
    const dead = await broker.listDeadLetters(queue);
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ reason: 'malformed-envelope', meta: { raw: '{not json' } });
    expect(await broker.inflightCount(queue)).toBe(1);
  });

  it('extendLease keeps one delivery: no copy is published and an ack ends it for good', async () => {
    const queue = uniqueName('q');
    const env = makeEnvelope(queue);
    await broker.publish(env);
    const c = consume(queue, 400);
    const [d] = await fetchWithin(c, 1, 2_000);
    for (let i = 0; i < 4; i++) {
      await broker.extendLease(d!, 400);
      await sleep(200);
    }
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 1, delayed: 0 });
    const streamLength = await raw.xlen(`${prefix}:{${queue}}:stream:p0`);
    expect(streamLength).toBe(1);
    await broker.ack(d!);
    expect(await fetchWithin(consume(queue, 400), 1, 900)).toEqual([]);
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('a stale ack after reclaim leaves the new delivery leased', async () => {
    const queue = uniqueName('q');
    await broker.publish(makeEnvelope(queue));
    const [stale] = await fetchWithin(consume(queue, 300), 1, 2_000);
    const [fresh] = await fetchWithin(consume(queue, 5_000), 1, 3_000);
    expect(fresh!.receipt).not.toBe(stale!.receipt);
    await broker.ack(stale!);
    await broker.nack(stale!, { requeue: true });
    await broker.deadLetter(stale!, 'late');
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 1, delayed: 0 });
    expect((await broker.listDeadLetters(queue)).items).toEqual([]);
    await broker.ack(fresh!);
    expect(await broker.inflightCount(queue)).toBe(0);
  });

  it('moves each due delayed envelope to exactly one of several racing consumers', async () => {
    const queue = uniqueName('q');
    const ids = new Set<string>();
    const dueAt = Date.now() + 300;
    for (let i = 0; i < 200; i++) {
      const env = makeEnvelope(queue, { notBefore: dueAt + (i % 5) });
      ids.add(env.id);
      await broker.publish(env);
    }
    const peers = await Promise.all([1, 2, 3].map(() => RedisStreamsBroker.connect(REDIS_URL, { prefix, batchSize: 16 })));
    try {
      const got: Delivery[] = [];
      await Promise.all(
        [broker, ...peers].map(async (b) => {
          const c = b.consume({ queues: [queue], consumerName: uniqueName('c') });
          consumers.push(c);
          const deadline = Date.now() + 5_000;
          while (got.length < 200 && Date.now() < deadline) got.push(...(await c.fetch(25, AbortSignal.timeout(500))));
        }),
      );
      expect(got).toHaveLength(200);
      expect(new Set(got.map((d) => d.envelope.id))).toEqual(ids);
      expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 200, delayed: 0 });
    } finally {
      for (const c of consumers.splice(0)) await c.close();
      await Promise.all(peers.map((p) => p.close()));
    }
  });

  it('publishBatch spreads envelopes over their queues, delayed ones hidden until due', async () => {
    const a = uniqueName('q');
    const b = uniqueName('q');
    const ready = Array.from({ length: 30 }, (_, i) => makeEnvelope(i % 2 ? a : b, { priority: i % 10 }));
    const later = makeEnvelope(a, { notBefore: Date.now() + 400 });
    await broker.publishBatch([...ready, later]);
    expect(await broker.counts(a)).toEqual({ ready: 15, inflight: 0, delayed: 1 });
    const got = await fetchAll(consume(a), 15, 2_000);
    expect(got.map((d) => d.envelope.priority)).toEqual([...got.map((d) => d.envelope.priority)].sort((x, y) => y - x));
    expect((await fetchAll(consume(b), 15, 2_000)).length).toBe(15);
    const [delayed] = await fetchWithin(consume(a), 1, 2_000);
    expect(delayed?.envelope.id).toBe(later.id);
  });

  it('nack with a future replacement parks it in the delayed set atomically', async () => {
    const queue = uniqueName('q');
    const env = makeEnvelope(queue);
    await broker.publish(env);
    const [d] = await fetchWithin(consume(queue), 1, 2_000);
    await broker.nack(d!, { requeue: true, envelope: { ...env, attempt: 1, notBefore: Date.now() + 60_000 } });
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 1 });
    expect(await broker.purge(queue)).toBe(1);
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('purge keeps leased deliveries with their consumer', async () => {
    const queue = uniqueName('q');
    await broker.publish(makeEnvelope(queue));
    await broker.publish(makeEnvelope(queue));
    const [leased] = await fetchWithin(consume(queue), 1, 2_000);
    expect(await broker.purge(queue)).toBe(1);
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 1, delayed: 0 });
    await broker.extendLease(leased!, 1_000);
    await broker.ack(leased!);
    expect(await broker.inflightCount(queue)).toBe(0);
  });

  it('selects dead letters by hundreds of task ids (read from the dead-letter set, not id by id) with a reason', async () => {
    const queue = uniqueName('q');
    const envelopes = Array.from({ length: 300 }, () => makeEnvelope(queue));
    await broker.publishBatch(envelopes);
    const deliveries = await fetchAll(consume(queue, 30_000), envelopes.length, 10_000);
    await Promise.all(deliveries.map((d, i) => broker.deadLetter(d, i % 3 === 0 ? 'invalid-args' : 'expired')));
    const wanted = envelopes.slice(0, 250).map((e) => e.id);
    const expired = new Set(envelopes.filter((_, i) => i < 250 && i % 3 !== 0).map((e) => e.id));
    const dry = await broker.replayDeadLetters(queue, { ids: wanted, reason: 'expired', limit: 1_000, dryRun: true });
    expect(new Set(dry.entries.map((e) => e.envelope.id))).toEqual(expired);
    expect(await broker.purgeDeadLetters(queue, { ids: wanted, reason: 'expired', limit: 100 })).toBe(100);
    expect(await broker.purgeDeadLetters(queue, { ids: wanted, reason: 'expired' })).toBe(expired.size - 100);
    expect((await broker.listDeadLetters(queue, { limit: 1_000 })).items).toHaveLength(300 - expired.size);
  });

  it('puts every key of a queue under one hash tag', async () => {
    const queue = uniqueName('q');
    await broker.publish(makeEnvelope(queue));
    await broker.publish(makeEnvelope(queue, { notBefore: Date.now() + 60_000 }));
    const [d] = await fetchWithin(consume(queue), 1, 2_000);
    await broker.deadLetter(d!, 'x');
    const keys = await raw.keys(`${prefix}:*${queue}*`);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const key of keys) expect(key.startsWith(`${prefix}:{${queue}}:`)).toBe(true);
  });

  it('rejects queue names that would break the hash tag', async () => {
    await expect(broker.publish(makeEnvelope('a{b}'))).rejects.toThrow(/hash tag/);
  });

  it('fails fast with a clear error when Redis is unreachable', async () => {
    const url = `redis://127.0.0.1:${await sparePort()}`;
    const started = Date.now();
    await expect(RedisStreamsBroker.connect(url, { connectTimeout: 1_000 })).rejects.toThrow(RedisConnectionError);
    await expect(RedisResultBackend.connect(url, { connectTimeout: 1_000 })).rejects.toThrow(`Cannot connect to Redis at ${url}: ECONNREFUSED`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
