import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryLockStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  computeUniqueKey,
  ConfigurationError,
  type Envelope,
  SimpleTaskRegistry,
  Stem,
  type TaskHandler,
  UniqueMeta,
  UniqueTaskCoordinator,
  Worker,
} from '../../lib/core/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(handlers: TaskHandler[] = [], coordinatorOptions: { defaultTtl?: number } = {}) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const lockStore = new InMemoryLockStore();
  const counters = new Map<string, number>();
  const uniqueCoordinator = new UniqueTaskCoordinator({
    lockStore,
    ...coordinatorOptions,
    metrics: { increment: (name, value = 1) => counters.set(name, (counters.get(name) ?? 0) + value) },
  });
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry, uniqueCoordinator });
  const published: Envelope[] = [];
  const publish = broker.publish.bind(broker);
  broker.publish = async (env) => {
    published.push(env);
    return publish(env);
  };
  const startWorker = async () => {
    const worker = new Worker({ broker, backend, registry, uniqueCoordinator, queues: ['default'], concurrency: 2 });
    closers.push(() => worker.close({ mode: 'hard' }));
    await worker.start();
    return worker;
  };
  closers.push(() => broker.close());
  return { broker, backend, stem, published, counters, lockStore, startWorker };
}

describe('unique tasks', () => {
  it('publishes 10 concurrent identical enqueues once and returns one id, recording the duplicates', async () => {
    const { stem, published, counters } = setup();
    const ids = await Promise.all(Array.from({ length: 10 }, () => stem.enqueue('orders.sync', { orderId: 42 }, { unique: true })));
    expect(new Set(ids).size).toBe(1);
    expect(published).toHaveLength(1);
    expect(counters.get('stem.tasks.deduplicated')).toBe(9);
    const status = await stem.getTaskStatus(ids[0]!);
    const duplicates = status!.meta[UniqueMeta.duplicates] as { taskId: string }[];
    expect(duplicates).toHaveLength(9);
    expect(new Set(duplicates.map((d) => d.taskId)).size).toBe(9);
    expect(duplicates.map((d) => d.taskId)).not.toContain(ids[0]);
  });

  it('publishes calls with different args separately', async () => {
    const { stem, published } = setup();
    const a = await stem.enqueue('orders.sync', { orderId: 1 }, { unique: true });
    const b = await stem.enqueue('orders.sync', { orderId: 2 }, { unique: true });
    expect(a).not.toBe(b);
    expect(published).toHaveLength(2);
  });

  it('computes a key independent of key order and of reserved stem.* meta', () => {
    const base = { task: 't', queue: 'q', args: { a: 1, b: { c: [1, 2], d: 'x' } }, headers: { 'x-tenant': 'a' }, meta: { m: 1 } };
    const key = computeUniqueKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(computeUniqueKey({ ...base, args: { b: { d: 'x', c: [1, 2] }, a: 1 } })).toBe(key);
    expect(computeUniqueKey({ ...base, meta: { m: 1, 'stem.parentTaskId': 'p' }, headers: { 'x-tenant': 'a', 'stem-signature': 's' } })).toBe(key);
    expect(computeUniqueKey({ ...base, meta: { m: 2 } })).not.toBe(key);
    expect(computeUniqueKey({ ...base, headers: { 'x-tenant': 'b' } })).not.toBe(key);
    expect(computeUniqueKey({ ...base, queue: 'other' })).not.toBe(key);
  });

  it('uses meta stem.unique.override as the key', async () => {
    const { stem, published } = setup();
    const a = await stem.enqueue('orders.sync', { orderId: 1, at: 1 }, { unique: true, meta: { [UniqueMeta.override]: 'order-1' } });
    const b = await stem.enqueue('orders.sync', { orderId: 1, at: 2 }, { unique: true, meta: { [UniqueMeta.override]: 'order-1' } });
    expect(b).toBe(a);
    expect(published).toHaveLength(1);
  });

  it('honours unique from the task options', async () => {
    const { stem, published } = setup([{ name: 'report.build', options: { unique: true }, call: () => 1 }]);
    const [a, b] = await Promise.all([stem.enqueue('report.build', { day: 1 }), stem.enqueue('report.build', { day: 1 })]);
    expect(b).toBe(a);
    expect(published).toHaveLength(1);
  });

  it('frees the key after uniqueFor', async () => {
    const { stem } = setup();
    const a = await stem.enqueue('orders.sync', { orderId: 5 }, { unique: true, uniqueFor: 100 });
    expect(await stem.enqueue('orders.sync', { orderId: 5 }, { unique: true, uniqueFor: 100 })).toBe(a);
    await sleep(150);
    expect(await stem.enqueue('orders.sync', { orderId: 5 }, { unique: true, uniqueFor: 100 })).not.toBe(a);
  });

  it('keeps the lock across retries and releases it when the task reaches a terminal state', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { stem, startWorker } = setup([
      {
        name: 'flaky.unique',
        options: { unique: true, maxRetries: 2, retryPolicy: { backoff: 150, jitter: false }, queue: 'default' },
        call: async (ctx) => {
          if (ctx.attempt === 0) throw new Error('transient');
          await gate;
          return 'done';
        },
      },
    ]);
    await startWorker();
    const id = await stem.enqueue('flaky.unique', { k: 1 });
    await sleep(60);
    expect((await stem.getTaskStatus(id))?.state).toBe('retried');
    expect(await stem.enqueue('flaky.unique', { k: 1 })).toBe(id);
    release();
    expect((await stem.waitForTask(id, { timeout: 3_000 })).status?.state).toBe('succeeded');
    await sleep(20);
    expect(await stem.enqueue('flaky.unique', { k: 1 })).not.toBe(id);
  });

  it('releases the lock when the task fails for good', async () => {
    const { stem, startWorker } = setup([
      {
        name: 'always.fails',
        options: { unique: true, queue: 'default' },
        call: () => {
          throw new Error('no');
        },
      },
    ]);
    await startWorker();
    const id = await stem.enqueue('always.fails', {});
    expect((await stem.waitForTask(id, { timeout: 3_000 })).status?.state).toBe('failed');
    await sleep(20);
    expect(await stem.enqueue('always.fails', {})).not.toBe(id);
  });

  it('refuses a unique enqueue without a coordinator, naming the task', async () => {
    const stem = new Stem({ broker: new InMemoryBroker(), backend: new InMemoryResultBackend() });
    await expect(stem.enqueue('orders.sync', {}, { unique: true })).rejects.toThrow(ConfigurationError);
    await expect(stem.enqueue('orders.sync', {}, { unique: true })).rejects.toThrow(/orders\.sync.*uniqueCoordinator/);
  });
});
