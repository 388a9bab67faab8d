import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  BroadcastControlChannel,
  ControlClient,
  SimpleTaskRegistry,
  Stem,
  type TaskHandler,
  TestClock,
  Worker,
  WorkerControl,
  type WorkerControlOptions,
} from '../../lib/core/index.js';
import { until } from '../support/until.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function plane(handlers: TaskHandler[]) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const store = new InMemoryControlStore();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry });
  const channel = new BroadcastControlChannel(broker);
  const client = new ControlClient({ channel, store, requestedBy: 'ops' });
  closers.push(() => broker.close());
  const startWorker = async (id: string, options: Partial<WorkerControlOptions> & { queues?: string[]; concurrency?: number } = {}) => {
    const control = new WorkerControl({ store, channel, terminateGracePeriod: 200, ...options });
    const worker = new Worker({ broker, backend, registry, id, concurrency: options.concurrency ?? 2, queues: options.queues, extensions: [control.extension] });
    await control.start(worker);
    await worker.start();
    closers.push(() => worker.close({ mode: 'hard' }));
    return { worker, control };
  };
  return { broker, backend, store, stem, client, startWorker };
}

const started: string[] = [];
const work: TaskHandler = { name: 'ctl.work', options: { queue: 'ctl' }, call: async (ctx) => void started.push(ctx.id) };

describe('worker control on the memory adapter', () => {
  afterEach(() => void started.splice(0));

  it('ping, stats and inspect get one reply per worker, each with its id', async () => {
    const { client, startWorker } = plane([work]);
    await startWorker('w1');
    await startWorker('w2');
    await startWorker('w3');
    const pings = await client.ping({ timeout: 2_000, expect: 3 });
    expect(pings.map((r) => r.workerId)).toEqual(['w1', 'w2', 'w3']);
    expect(pings.every((r) => r.ok && (r.payload as { pong: boolean }).pong)).toBe(true);
    const stats = await client.stats({ workers: ['w2'], timeout: 2_000 });
    expect(stats).toHaveLength(1);
    expect(stats[0]!.payload).toMatchObject({ id: 'w2', concurrency: 2, queues: ['ctl'], pid: process.pid });
    const inspect = await client.inspect({ workers: ['w1', 'w3'], timeout: 2_000 });
    expect(inspect.map((r) => r.workerId)).toEqual(['w1', 'w3']);
    expect(inspect[0]!.payload).toMatchObject({ active: [], prefetched: [], pausedQueues: [] });
  });

  it('a revoked queued or delayed task never runs and ends cancelled with the revoke meta', async () => {
    const { client, stem, backend, startWorker } = plane([work]);
    await client.pause('ctl', { timeout: 50 });
    const queued = await stem.enqueue('ctl.work', {});
    const delayed = await stem.enqueue('ctl.work', {}, { delay: 300 });
    const other = await stem.enqueue('ctl.work', {});
    await client.revoke([queued, delayed], { reason: 'duplicate', timeout: 50 });
    await startWorker('w1');
    await client.resume('ctl', { timeout: 2_000, expect: 1 });
    await until(async () => (await backend.get(delayed))?.state === 'cancelled' && (await backend.get(other))?.state === 'succeeded');
    const status = await backend.get(queued);
    expect(status?.state).toBe('cancelled');
    expect(status?.meta).toMatchObject({ 'stem.revoked.reason': 'duplicate', 'stem.revoked.by': 'ops' });
    expect(typeof status?.meta['stem.revoked.at']).toBe('number');
    expect(started).toEqual([other]);
  });

  it('terminate aborts ctx.signal of a running task and records it cancelled', async () => {
    const { client, stem, backend, startWorker } = plane([
      {
        name: 'ctl.long',
        options: { queue: 'ctl', maxRetries: 3 },
        call: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
      },
    ]);
    await startWorker('w1');
    const id = await stem.enqueue('ctl.long', {});
    await until(async () => (await backend.get(id))?.state === 'running');
    const { replies } = await client.revoke([id], { terminate: true, reason: 'stuck', timeout: 2_000, expect: 1 });
    expect(replies[0]!.payload).toMatchObject({ terminated: [id] });
    await until(async () => (await backend.get(id))?.state === 'cancelled', 1_000);
    expect((await backend.get(id))?.attempt).toBe(0);
  });

  it('terminate frees the slot of a task that ignores ctx.signal after the grace period', async () => {
    const { client, stem, backend, startWorker } = plane([{ name: 'ctl.deaf', options: { queue: 'ctl' }, call: () => new Promise(() => undefined) }, work]);
    await startWorker('w1', { concurrency: 1 });
    const id = await stem.enqueue('ctl.deaf', {});
    await until(async () => (await backend.get(id))?.state === 'running');
    const next = await stem.enqueue('ctl.work', {});
    await client.revoke([id], { terminate: true, timeout: 2_000, expect: 1 });
    await until(async () => (await backend.get(id))?.state === 'cancelled' && (await backend.get(next))?.state === 'succeeded');
  });

  it('a revoked running task that fails is not retried', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { client, stem, backend, startWorker } = plane([
      {
        name: 'ctl.flaky',
        options: { queue: 'ctl', maxRetries: 5 },
        call: async () => {
          await gate;
          throw new Error('boom');
        },
      },
    ]);
    await startWorker('w1');
    const id = await stem.enqueue('ctl.flaky', {});
    await until(async () => (await backend.get(id))?.state === 'running');
    await client.revoke([id], { timeout: 2_000, expect: 1 });
    release();
    await until(async () => (await backend.get(id))?.state === 'cancelled');
  });

  it('a paused queue stays paused for workers started later; resume lets it run', async () => {
    const { client, stem, backend, startWorker } = plane([work]);
    await client.pause('ctl', { timeout: 50 });
    const id = await stem.enqueue('ctl.work', {});
    const { worker } = await startWorker('w1');
    expect(worker.consumedQueues).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect((await backend.get(id))?.state).toBe('queued');
    const { replies } = await client.resume('ctl', { timeout: 2_000, expect: 1 });
    expect(replies[0]!.payload).toMatchObject({ pausedQueues: [], consumedQueues: ['ctl'] });
    await until(async () => (await backend.get(id))?.state === 'succeeded');
  });

  it('shutdown stops only the named worker; setConcurrency and rateLimit reach live workers', async () => {
    const { client, startWorker } = plane([work]);
    const a = await startWorker('w1');
    const b = await startWorker('w2');
    const stopped = new Promise<void>((resolve) => a.worker.signals.on('worker-shutdown', () => resolve()));
    const replies = await client.shutdown({ workers: ['w1'], timeout: 2_000 });
    expect(replies.map((r) => r.workerId)).toEqual(['w1']);
    await stopped;
    expect((await client.ping({ timeout: 300 })).map((r) => r.workerId)).toEqual(['w2']);
    await client.setConcurrency(5, { workers: ['w2'], timeout: 2_000 });
    expect(b.worker.concurrency).toBe(5);
    const limited = await client.rateLimit('ctl.work', '10/s', { timeout: 2_000, expect: 1 });
    expect(limited[0]!.ok).toBe(true);
    expect(() => client.rateLimit('ctl.work', 'often')).toThrow(/ctl\.work/);
  });

  it('heartbeats list live workers and a worker that stops beating disappears after 3 intervals', async () => {
    const clock = new TestClock();
    const store = new InMemoryControlStore(clock);
    const broker = new InMemoryBroker();
    closers.push(() => broker.close());
    const registry = new SimpleTaskRegistry([work]);
    const control = new WorkerControl({ store, clock, heartbeatInterval: 1_000 });
    const worker = new Worker({ broker, registry, id: 'hb1', extensions: [control.extension] });
    await control.start(worker);
    const client = new ControlClient({ store });
    expect((await client.listWorkers()).map((h) => [h.workerId, h.queues])).toEqual([['hb1', ['ctl']]]);
    control.events.on('error', (e) => {
      throw e;
    });
    await clock.advance(2_500);
    expect(await client.listWorkers()).toHaveLength(1);
    await control.stop();
    expect(await client.listWorkers()).toHaveLength(0);
    await store.recordHeartbeat(
      { workerId: 'ghost', host: 'h', pid: 1, queues: [], pausedQueues: [], concurrency: 1, active: 0, startedAt: 0, sentAt: 0, version: '0', succeeded: 0, failed: 0, retried: 0 },
      3_000,
    );
    await clock.advance(2_999);
    expect(await client.listWorkers()).toHaveLength(1);
    await clock.advance(1);
    expect(await client.listWorkers()).toHaveLength(0);
  });

  it('a worker that missed the broadcast picks the revoke and the pause up at its next clocked re-sync', async () => {
    const clock = new TestClock();
    const broker = new InMemoryBroker({ clock });
    const backend = new InMemoryResultBackend();
    const store = new InMemoryControlStore(clock);
    closers.push(() => broker.close());
    const registry = new SimpleTaskRegistry([work]);
    const control = new WorkerControl({ store, clock, heartbeatInterval: 1_000, syncInterval: 2_000 });
    const worker = new Worker({ broker, backend, registry, id: 'deaf', clock, extensions: [control.extension] });
    await control.start(worker);
    closers.push(() => worker.close({ mode: 'hard' }));
    const client = new ControlClient({ store, clock });
    await client.pause('ctl');
    expect(worker.consumedQueues).toEqual(['ctl']);
    await clock.advance(2_000);
    await until(() => worker.consumedQueues.length === 0);
    await client.resume('ctl');
    const stem = new Stem({ broker, backend, registry, clock });
    const id = await stem.enqueue('ctl.work', {}, { delay: 10_000 });
    await client.revoke([id], { reason: 'missed broadcast' });
    await clock.advance(2_000);
    await until(() => worker.consumedQueues.length === 1);
    await worker.start();
    await clock.advance(10_000);
    await until(async () => (await backend.get(id))?.state === 'cancelled');
    expect(started).not.toContain(id);
  });

  it('worker seams: setConcurrency refuses a bad value naming it; dropping a queue hands its prefetched deliveries back', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { stem, backend, startWorker } = plane([{ name: 'ctl.gate', options: { queue: 'ctl' }, call: () => gate }]);
    const { worker } = await startWorker('seams', { concurrency: 1 });
    expect(() => worker.setConcurrency(0)).toThrow(/concurrency/);
    const first = await stem.enqueue('ctl.gate', {});
    const second = await stem.enqueue('ctl.gate', {});
    await until(() => worker.snapshot().running.length === 1 && worker.snapshot().prefetched.length === 1);
    worker.setConsumedQueues([]);
    expect(worker.snapshot().prefetched).toEqual([]);
    expect(worker.snapshot().running.map((r) => r.envelope.id)).toEqual([first]);
    release();
    await until(async () => (await backend.get(first))?.state === 'succeeded');
    expect((await backend.get(second))?.state).toBe('queued');
    worker.setConsumedQueues(['ctl']);
    await until(async () => (await backend.get(second))?.state === 'succeeded');
  });

  it('pausing and resuming all queues many times leaves no listeners behind (no MaxListeners warning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    closers.push(async () => void process.off('warning', onWarning));
    const { stem, backend, startWorker } = plane([work]);
    const { worker } = await startWorker('cycler', { concurrency: 1 });
    for (let cycle = 0; cycle < 30; cycle++) {
      worker.setConsumedQueues([]);
      await new Promise((r) => setTimeout(r, 1));
      worker.setConsumedQueues(['ctl']);
      await new Promise((r) => setTimeout(r, 1));
    }
    const id = await stem.enqueue('ctl.work', {});
    await until(async () => (await backend.get(id))?.state === 'succeeded');
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });
});
