import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Delivery } from '../../lib/core/contracts/broker.js';
import type { ResultBackend } from '../../lib/core/contracts/result-backend.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { BroadcastMeta } from '../../lib/core/routing/task-broadcast.js';
import { Stem } from '../../lib/core/stem.js';
import type { TaskContext } from '../../lib/core/task-context.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';

/** One connection set: a broker and a backend. Each call opens new instances (their own connections). */
export interface RoutingSuiteFactory {
  open(): Promise<{ broker: Broker; backend: ResultBackend }>;
  close(): Promise<void>;
}

async function fetchAll(broker: Broker, queue: string, count: number): Promise<Delivery[]> {
  const consumer = broker.consume({ queues: [queue], consumerName: uniqueName('probe') });
  const got: Delivery[] = [];
  try {
    while (got.length < count) got.push(...(await consumer.fetch(count - got.length, AbortSignal.timeout(5_000))));
  } finally {
    await consumer.close();
  }
  return got;
}

/** The queue's in-flight count once it reaches 0, or the count still in flight after `ms`. */
async function settledInflight(broker: Broker, queue: string, ms = 3_000): Promise<number> {
  const deadline = Date.now() + ms;
  let count = await broker.inflightCount(queue);
  while (count > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    count = await broker.inflightCount(queue);
  }
  return count;
}

/** Resolves with the envelope of the first `task:succeeded` of each worker, once all succeeded `count` times. */
function succeeded(worker: Worker, count: number): Promise<Envelope[]> {
  const seen: Envelope[] = [];
  return new Promise((resolve) => {
    worker.signals.on('task-succeeded', ({ envelope }) => {
      seen.push(envelope);
      if (seen.length === count) resolve(seen);
    });
  });
}

/** Routing to queues, priority clamping and broadcast fan-out on a real broker. */
export function runRoutingTests(label: string, factory: RoutingSuiteFactory): void {
  describe(`routing (${label})`, () => {
    const workers: Worker[] = [];
    afterEach(async () => {
      for (const worker of workers.splice(0)) await worker.close({ mode: 'hard' });
      await factory.close();
    });

    it('sends reports.* to the reports queue with priorities clamped into its range, other tasks to the default queue', async () => {
      const { broker, backend } = await factory.open();
      const reports = uniqueName('reports');
      const fallback = uniqueName('main');
      const stem = new Stem({
        broker,
        backend,
        routing: { defaultQueue: fallback, queues: { [reports]: { priorityRange: [2, 5] } }, routes: [{ match: { task: 'reports.*' }, target: reports }] },
      });
      const high = await stem.enqueue('reports.daily', {}, { priority: 9 });
      const low = await stem.enqueue('reports.monthly.pdf', {}, { priority: 0 });
      const other = await stem.enqueue('email.send', {}, { priority: 9 });
      const deliveries = await fetchAll(broker, reports, 2);
      const byId = new Map(deliveries.map((d) => [d.envelope.id, d.envelope]));
      expect(byId.get(high)).toMatchObject({ queue: reports, priority: 5 });
      expect(byId.get(low)).toMatchObject({ queue: reports, priority: 2 });
      for (const d of deliveries) await broker.ack(d);
      const [main] = await fetchAll(broker, fallback, 1);
      expect(main!.envelope).toMatchObject({ id: other, queue: fallback, priority: 9 });
      await broker.ack(main!);
      expect((await backend.get(high))?.queue).toBe(reports);
    });

    it('a worker with no queues consumes every queue routing may send its tasks to, header routes included; a per-call queue wins', async () => {
      const { broker, backend } = await factory.open();
      const reports = uniqueName('reports');
      const vip = uniqueName('vip');
      const explicit = uniqueName('explicit');
      const routing = {
        routes: [
          { match: { headers: { tier: 'vip' } }, target: vip, priorityOverride: 8 },
          { match: { task: 'reports.*' }, target: reports },
          // Never applies to reports.*: the route above matches every call of it first.
          { match: { headers: { tier: 'gold' } }, target: uniqueName('unreachable') },
        ],
      };
      const ran: { id: string; queue: string; priority: number }[] = [];
      const record = (ctx: TaskContext) => void ran.push({ id: ctx.id, queue: ctx.queue, priority: ctx.envelope.priority });
      const registry = new SimpleTaskRegistry([{ name: 'reports.daily', options: { queue: 'ignored-by-route' }, call: record }]);
      const stem = new Stem({ broker, backend, registry, routing });
      const worker = new Worker({ broker, backend, registry, producer: stem, id: uniqueName('w') });
      workers.push(worker);
      expect(worker.queues).toEqual([vip, reports]);
      const done = succeeded(worker, 2);
      await worker.start();
      const routed = await stem.enqueue('reports.daily');
      const byHeader = await stem.enqueue('reports.daily', {}, { headers: { tier: 'vip' } });
      await done;
      expect(ran.sort((a, b) => a.queue.localeCompare(b.queue))).toEqual(
        [
          { id: routed, queue: reports, priority: 0 },
          { id: byHeader, queue: vip, priority: 8 },
        ].sort((a, b) => a.queue.localeCompare(b.queue)),
      );
      expect((await backend.get(byHeader))?.state).toBe('succeeded');
      const byCall = await stem.enqueue('reports.daily', {}, { queue: explicit, headers: { tier: 'vip' } });
      const [c] = await fetchAll(broker, explicit, 1);
      expect(c!.envelope).toMatchObject({ id: byCall, queue: explicit, priority: 0 });
      await broker.ack(c!);
    });

    it('fans a broadcast task out to two workers on separate broker instances; each runs it once, from its own queue', async () => {
      const channel = uniqueName('cache');
      const routing = { broadcasts: [channel], routes: [{ match: { task: 'cache.flush' }, target: { type: 'broadcast' as const, name: channel } }] };
      const runs: { worker: string; id: string; origin: unknown }[] = [];
      const started: Promise<Envelope[]>[] = [];
      for (const name of ['a', 'b']) {
        const { broker, backend } = await factory.open();
        const id = uniqueName(`worker-${name}`);
        const registry = new SimpleTaskRegistry([
          { name: 'cache.flush', call: (ctx: TaskContext) => void runs.push({ worker: id, id: ctx.id, origin: ctx.meta[BroadcastMeta.id] }) },
        ]);
        const worker = new Worker({ broker, backend, registry, routing, broadcasts: [channel], id, queues: [uniqueName('unused')] });
        workers.push(worker);
        started.push(succeeded(worker, 1));
        await worker.start();
      }
      const { broker, backend } = await factory.open();
      const producer = new Stem({ broker, backend, routing });
      const id = await producer.enqueue('cache.flush', { all: true });
      const [a, b] = await Promise.all(started);
      const ids = workers.map((w) => w.id);
      expect(runs.map((r) => r.worker).sort()).toEqual([...ids].sort());
      expect(runs.every((r) => r.origin === id)).toBe(true);
      expect(a![0]!.queue).toBe(`${channel}@${ids[0]}`);
      expect(b![0]!.queue).toBe(`${channel}@${ids[1]}`);
      for (const w of ids) {
        expect((await backend.get(`${id}@${w}`))?.state).toBe('succeeded');
        expect(await broker.pendingCount(`${channel}@${w}`)).toBe(0);
        // The worker acks after it stores the status, so the delivery may still be in flight for a moment.
        expect(await settledInflight(broker, `${channel}@${w}`)).toBe(0);
      }
      // The producer writes no status under the id it returned: each worker's copy has its own.
      expect(await backend.get(id)).toBeNull();
    });
  });
}
