import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { RedisConnection } from '../../lib/adapters/redis/redis.connection.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { PublishError, PublishOutcomeUnknownError } from '../../lib/core/errors/publish.error.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { fetchAll, uniqueName } from '../../lib/testing/contract-helpers.js';
import { redisRequestsDuring } from '../redis/redis-requests.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const available = await redisAvailable();
const prefix = uniquePrefix('queued-publish');
const registry = new SimpleTaskRegistry([{ name: 'report.build', call: () => 1 }]);

describe.runIf(available)('Redis: the queued status is written inside the publish script', () => {
  let broker: RedisStreamsBroker;
  let backend: RedisResultBackend;
  /** A backend on a connection of its own (another process would look the same). */
  let elsewhere: RedisResultBackend;
  let stem: Stem;
  let raw: Redis;
  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    elsewhere = await RedisResultBackend.connect(REDIS_URL, { prefix, connectTimeout: 9_999 });
    stem = new Stem({ broker, backend, registry });
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await broker.close();
    await backend.close();
    await elsewhere.close();
    raw.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('enqueues one task in one request: the status is queued with its name, queue and meta, and the task is delivered', async () => {
    expect(elsewhere.connection).not.toBe(backend.connection);
    const queue = uniqueName('q');
    // NOTE: a server that never ran the script answers NOSCRIPT once (then `eval` loads it); count the steady state.
    await stem.enqueue('report.build', { n: 0 }, { queue: uniqueName('warm') });
    let id = '';
    const sent = await redisRequestsDuring(async () => {
      id = await stem.enqueue('report.build', { n: 1 }, { queue, meta: { tenant: 'acme' } });
    });
    expect(sent).toEqual(['evalsha']);
    expect(await elsewhere.get(id)).toMatchObject({ state: 'queued', attempt: 0, name: 'report.build', queue, meta: { tenant: 'acme' } });
    expect((await elsewhere.listStatuses({ queue })).items.map((s) => s.id)).toEqual([id]);
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const [delivery] = await fetchAll(consumer, 1, 5_000);
      expect(delivery!.envelope).toMatchObject({ id, name: 'report.build', args: { n: 1 } });
    } finally {
      await consumer.close();
    }
  });

  it('enqueues a batch over two queues in one round trip, every status queued', async () => {
    const [a, b] = [uniqueName('qa'), uniqueName('qb')];
    let ids: string[] = [];
    const sent = await redisRequestsDuring(async () => {
      ids = await stem.enqueueMany(Array.from({ length: 1_200 }, (_, i) => ({ name: 'report.build', args: { i }, options: { queue: i % 2 ? a : b } })));
    });
    expect(sent).toEqual(Array(6).fill('evalsha'));
    expect(await broker.pendingCount(a)).toBe(600);
    expect(await broker.pendingCount(b)).toBe(600);
    const statuses = await Promise.all(ids.map((id) => elsewhere.get(id)));
    expect(statuses.every((s) => s?.state === 'queued')).toBe(true);
  });

  it('wakes a watch on another connection with the queued status the script wrote', async () => {
    const id = uuidv7();
    const seen: TaskStatus[] = [];
    let woke!: () => void;
    const first = new Promise<void>((resolve) => (woke = resolve));
    const watch = await elsewhere.watch(id, (status) => {
      seen.push(status);
      woke();
    });
    try {
      await stem.enqueue('report.build', {}, { queue: uniqueName('q'), taskId: id });
      await first;
      expect(seen[0]).toMatchObject({ id, state: 'queued', name: 'report.build' });
    } finally {
      await watch.close();
    }
  });

  it('never turns a terminal status back into queued, even when the terminal write races the enqueue', async () => {
    const queue = uniqueName('q');
    const ids = Array.from({ length: 50 }, () => uuidv7());
    await Promise.all(
      ids.flatMap((id) => [
        elsewhere.set(id, { state: 'succeeded', attempt: 0, payload: 42, name: 'report.build', queue }),
        stem.enqueue('report.build', {}, { queue, taskId: id }),
      ]),
    );
    const after = await Promise.all(ids.map((id) => elsewhere.get(id)));
    expect(after.map((s) => s?.state)).toEqual(ids.map(() => 'succeeded'));
    expect(after.every((s) => s?.payload === 42)).toBe(true);
    const id = ids[0]!;
    await stem.enqueue('report.build', {}, { queue, taskId: id });
    expect(await elsewhere.get(id)).toMatchObject({ state: 'succeeded', payload: 42 });
  });

  it('reports an error reply as a certain failure: the status says failed and nothing waits in the queue', async () => {
    const queue = uniqueName('q');
    await raw.set(`${prefix}:{${queue}}:stream:p0`, 'not a stream');
    const error = await stem.enqueue('report.build', {}, { queue, priority: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).not.toBeInstanceOf(PublishOutcomeUnknownError);
    const [status] = (await elsewhere.listStatuses({ queue })).items;
    expect(status).toMatchObject({ state: 'failed', error: { type: 'PublishError' } });
  });

  it('writes the status first and publishes next when a meta key holds the packing separator', async () => {
    const queue = uniqueName('q');
    const id = await stem.enqueue('report.build', {}, { queue, meta: { 'odd\x1fkey': 1 } });
    expect(await elsewhere.get(id)).toMatchObject({ state: 'queued', meta: { 'odd\x1fkey': 1 } });
    expect(await broker.pendingCount(queue)).toBe(1);
  });

  it('enqueues a batch whose task ids and meta keys hold the record separators, every status and envelope intact', async () => {
    const queue = uniqueName('q');
    const ids = await stem.enqueueMany([
      { name: 'report.build', args: { n: 1 }, options: { queue, taskId: `odd\x1eid-${uniqueName('t')}` } },
      { name: 'report.build', args: { n: 2 }, options: { queue, meta: { 'odd\x1dkey': 'v' } } },
      { name: 'report.build', args: { n: 3, text: 'a\x1eb\x1dc' }, options: { queue } },
    ]);
    const statuses = await Promise.all(ids.map((id) => elsewhere.get(id)));
    expect(statuses.map((s) => s?.state)).toEqual(['queued', 'queued', 'queued']);
    expect(statuses[1]!.meta).toMatchObject({ 'odd\x1dkey': 'v' });
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const deliveries = await fetchAll(consumer, 3, 5_000);
      expect(deliveries.map((d) => d.envelope.args).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n)).toEqual([{ n: 1 }, { n: 2 }, { n: 3, text: 'a\x1eb\x1dc' }]);
      expect(deliveries.map((d) => d.envelope.id).sort()).toEqual([...ids].sort());
    } finally {
      await consumer.close();
    }
  });

  it('enqueues the args of a batch with separators in their JSON in one script call', async () => {
    const queue = uniqueName('q');
    let ids: string[] = [];
    const sent = await redisRequestsDuring(async () => {
      ids = await stem.enqueueMany([1, 2].map((n) => ({ name: 'report.build', args: { n, text: `x\x1ey\x1dz${n}` }, options: { queue } })));
    });
    expect(sent).toEqual(['evalsha']);
    expect(await Promise.all(ids.map(async (id) => (await elsewhere.get(id))?.state))).toEqual(['queued', 'queued']);
    expect(await broker.pendingCount(queue)).toBe(2);
  });

  it('a chunk whose last record arrives garbled is refused whole: no task of it is enqueued or has a status', async () => {
    const queue = uniqueName('q');
    const original = RedisConnection.prototype.command;
    const spy = vi.spyOn(RedisConnection.prototype, 'command').mockImplementation(function (this: RedisConnection, name, ...args) {
      const last = args.length - 1;
      if (name === 'evalsha' && typeof args[last] === 'string' && args[last].includes('\x1e')) args[last] = `${args[last]}garbled\x1e`;
      return original.call(this, name, ...args);
    });
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    try {
      const attempt = stem.enqueueMany(ids.map((id, n) => ({ name: 'report.build', args: { n }, options: { queue, taskId: id } })));
      await expect(attempt).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(await broker.pendingCount(queue)).toBe(0);
    expect(await Promise.all(ids.map(async (id) => (await elsewhere.get(id))?.state ?? 'none'))).not.toContain('queued');
  });
});

describe.runIf(available)('Redis: a folded publish whose connection stalls', () => {
  let proxy: TcpProxy;
  afterEach(async () => {
    await proxy?.close();
  });

  it('throws PublishOutcomeUnknownError naming the task id, and records no failure for it', async () => {
    const { hostname, port } = new URL(REDIS_URL);
    proxy = await TcpProxy.start(hostname, Number(port || 6379));
    const url = `redis://127.0.0.1:${proxy.port}`;
    const options = { prefix, cluster: false, commandTimeout: 300, healthCheckInterval: 0 } as const;
    const broker = await RedisStreamsBroker.connect(url, options);
    const backend = await RedisResultBackend.connect(url, options);
    const direct = await RedisResultBackend.connect(REDIS_URL, { prefix });
    try {
      const stem = new Stem({ broker, backend, registry });
      const taskId = uuidv7();
      proxy.pause();
      const error = await stem.enqueue('report.build', {}, { queue: uniqueName('q'), taskId }).catch((e: unknown) => e);
      proxy.resume();
      expect(error).toBeInstanceOf(PublishOutcomeUnknownError);
      expect((error as PublishOutcomeUnknownError).taskIds).toEqual([taskId]);
      expect((await direct.get(taskId))?.state).not.toBe('failed');
    } finally {
      await broker.close();
      await backend.close();
      await direct.close();
    }
  });
});
