import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import type { WorkerExtension } from '../../lib/core/worker/worker-extension.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { redisRequestsDuring } from '../redis/redis-requests.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('status-ack');
describe.runIf(available)('Redis: a success is stored and acked in one script', () => {
  let broker: RedisStreamsBroker;
  let backend: RedisResultBackend;
  /** A backend on a connection of its own (another process would look the same). */
  let elsewhere: RedisResultBackend;
  const registry = new SimpleTaskRegistry([
    { name: 'report.build', call: (_ctx, args: { n: number }) => args.n * 2 },
    { name: 'report.mail', call: () => 'sent' },
  ]);
  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    elsewhere = await RedisResultBackend.connect(REDIS_URL, { prefix, connectTimeout: 9_999 });
  });
  afterAll(async () => {
    await broker.close();
    await backend.close();
    await elsewhere.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  /** Runs a worker on `queue` (with `extensions`) until `count` tasks succeeded after `enqueue`; the requests sent meanwhile. */
  async function runTasks(
    queue: string,
    count: number,
    enqueue: (stem: Stem) => Promise<unknown>,
    extensions: WorkerExtension[] = [],
    workerBackend: RedisResultBackend = backend,
  ): Promise<string[]> {
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend: workerBackend, registry, queues: [queue], concurrency: 4, extensions });
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    worker.signals.on('task-succeeded', () => {
      if (++done === count) finished();
    });
    await worker.start();
    try {
      return await redisRequestsDuring(
        async () => {
          await enqueue(stem);
          await all;
          await worker.close();
        },
        { names: 'scripts' },
      );
    } finally {
      await worker.close();
    }
  }

  it('writes running and succeeded and acks the delivery in one status script: the result is readable elsewhere and nothing stays leased', async () => {
    const queue = uniqueName('folded');
    let id = '';
    const sent = await runTasks(queue, 1, async (stem) => (id = await stem.enqueue('report.build', { n: 21 }, { queue })));
    expect(sent.filter((name) => name === 'status-set-many')).toHaveLength(1);
    expect(sent).not.toContain('ack-many');
    expect(await elsewhere.get(id)).toMatchObject({ state: 'succeeded', attempt: 0, name: 'report.build', queue, payload: 42 });
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('acks 300 concurrent successes with their statuses, each stored once and none left leased', async () => {
    const queue = uniqueName('folded-many');
    let ids: string[] = [];
    const sent = await runTasks(
      queue,
      300,
      async (stem) => (ids = await stem.enqueueMany(Array.from({ length: 300 }, (_, n) => ({ name: 'report.build', args: { n }, options: { queue } })))),
    );
    expect(sent).not.toContain('ack-many');
    const statuses = await Promise.all(ids.map((id) => elsewhere.get(id)));
    expect(statuses.map((s) => [s?.state, s?.payload])).toEqual(ids.map((_, n) => ['succeeded', n * 2]));
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('enqueues a linked task before the parent delivery is acked, then runs it', async () => {
    const queue = uniqueName('linked');
    let id = '';
    const sent = await runTasks(queue, 2, async (stem) => (id = await stem.enqueue('report.build', { n: 1 }, { queue, link: [{ name: 'report.mail', options: { queue } }] })));
    // NOTE: the parent has a follow-up, so its ack waits for it; the linked task has none and is folded.
    const publishes = sent.map((name, i) => (name === 'publish-queued' ? i : -1)).filter((i) => i >= 0);
    expect(publishes).toHaveLength(2);
    expect(sent.indexOf('ack-many')).toBeGreaterThan(publishes[1]!);
    expect(sent.filter((name) => name === 'ack-many')).toHaveLength(1);
    expect(await elsewhere.get(id)).toMatchObject({ state: 'succeeded', payload: 2 });
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('writes a status that cannot go in one script on its own and still acks its delivery', async () => {
    const queue = uniqueName('unpacked');
    // NOTE: a meta key holding the unit separator cannot be packed, so the batch is written status by status.
    const oddMeta: WorkerExtension = {
      name: 'odd-meta',
      beforeRun: (run) => {
        run.statusMeta['odd\x1fkey'] = 'kept';
      },
    };
    let id = '';
    const sent = await runTasks(queue, 1, async (stem) => (id = await stem.enqueue('report.build', { n: 5 }, { queue })), [oddMeta]);
    expect(sent).toContain('status-set');
    expect(sent).toContain('ack-many');
    expect(await elsewhere.get(id)).toMatchObject({ state: 'succeeded', payload: 10, meta: { 'odd\x1fkey': 'kept' } });
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('keeps the ack after onSettled for an extension that does not say it has nothing to do', async () => {
    const queue = uniqueName('unfolded');
    const settledBeforeAck: boolean[] = [];
    const audit: WorkerExtension = {
      name: 'audit',
      onSettled: async (outcome) => {
        settledBeforeAck.push((await broker.counts(queue)).inflight === 1 && outcome.state === 'succeeded');
      },
    };
    const sent = await runTasks(queue, 1, (stem) => stem.enqueue('report.build', { n: 1 }, { queue }), [audit]);
    expect(sent).toContain('ack-many');
    expect(settledBeforeAck).toEqual([true]);
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  it('does not fold for a backend on another connection: the status is written, then the delivery acked', async () => {
    const queue = uniqueName('elsewhere');
    let id = '';
    const sent = await runTasks(queue, 1, async (stem) => (id = await stem.enqueue('report.build', { n: 4 }, { queue })), [], elsewhere);
    expect(sent).toContain('ack-many');
    expect(await backend.get(id)).toMatchObject({ state: 'succeeded', payload: 8 });
    expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });
});
