import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { type Envelope, SimpleTaskRegistry, Stem, type TaskHandler, UnrecoverableError, Worker, type WorkerOptions } from '../../lib/core/index.js';

function setup(handlers: TaskHandler[], options: Partial<WorkerOptions> = {}) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry });
  const worker = new Worker({ broker, backend, registry, concurrency: 4, ...options });
  opened.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, registry, stem, worker };
}

const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

const fastRetry = { backoff: 10, jitter: false };

describe('Worker', () => {
  it('runs a task and stores its result, written before the ack', async () => {
    const { stem, worker, broker } = setup([{ name: 'add', call: (_ctx, a: { x: number; y: number }) => a.x + a.y }]);
    const order: string[] = [];
    worker.signals.on('task-succeeded', () => order.push('succeeded-event'));
    const ack = broker.ack.bind(broker);
    broker.ack = async (d) => {
      order.push(`ack:${(await stem.getTaskStatus(d.envelope.id))?.state}`);
      return ack(d);
    };
    await worker.start();
    const id = await stem.enqueue('add', { x: 2, y: 3 });
    const res = await stem.waitForTask<number>(id, { timeout: 2_000 });
    expect(res).toMatchObject({ timedOut: false, value: 5, status: { state: 'succeeded', attempt: 0 } });
    await new Promise((r) => setTimeout(r, 20));
    expect(order.filter((o) => o.startsWith('ack:'))).toEqual(['ack:succeeded']);
  });

  it('retries under the same id with attempt + 1, then succeeds', async () => {
    const attempts: number[] = [];
    const ids = new Set<string>();
    const { stem, worker } = setup([
      {
        name: 'flaky',
        options: { maxRetries: 3, retryPolicy: fastRetry },
        call: (ctx) => {
          attempts.push(ctx.attempt);
          ids.add(ctx.id);
          if (ctx.attempt < 1) throw new Error('transient');
          return 'ok';
        },
      },
    ]);
    const states: string[] = [];
    worker.signals.on('task-retry', ({ envelope: env, error: err, delayMs: delay }) => states.push(`retried:${env.attempt}:${err.message}:${delay}`));
    await worker.start();
    const id = await stem.enqueue('flaky');
    const res = await stem.waitForTask(id, { timeout: 2_000 });
    expect(res.status).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(attempts).toEqual([0, 1]);
    expect([...ids]).toEqual([id]);
    expect(states).toEqual(['retried:0:transient:10']);
  });

  it('fails after maxRetries with one dead letter max-retries-exhausted and no stray ones', async () => {
    const { stem, worker, broker } = setup([
      {
        name: 'boom',
        options: { maxRetries: 2, retryPolicy: fastRetry },
        call: () => {
          throw new TypeError('always');
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('boom');
    const res = await stem.waitForTask(id, { timeout: 2_000 });
    expect(res.status).toMatchObject({ state: 'failed', attempt: 2, error: { type: 'TypeError', message: 'always', retryable: false } });
    const dead = await broker.listDeadLetters('default');
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ reason: 'max-retries-exhausted', envelope: { id, attempt: 2 } });
  });

  it('does not retry errors the policy excludes, nor UnrecoverableError', async () => {
    class PaymentDeclined extends Error {}
    const calls: string[] = [];
    const { stem, worker, broker } = setup([
      {
        name: 'pay',
        options: { maxRetries: 5, retryPolicy: { ...fastRetry, dontAutoRetryFor: [PaymentDeclined] } },
        call: () => {
          calls.push('pay');
          throw new PaymentDeclined('declined');
        },
      },
      {
        name: 'fatal',
        options: { maxRetries: 5 },
        call: () => {
          calls.push('fatal');
          throw new UnrecoverableError('bad data');
        },
      },
    ]);
    await worker.start();
    const a = await stem.enqueue('pay');
    const b = await stem.enqueue('fatal');
    expect((await stem.waitForTask(a, { timeout: 2_000 })).status?.state).toBe('failed');
    expect((await stem.waitForTask(b, { timeout: 2_000 })).status?.state).toBe('failed');
    expect(calls.sort()).toEqual(['fatal', 'pay']);
    const reasons = (await broker.listDeadLetters('default')).items.map((e) => e.reason).sort();
    expect(reasons).toEqual(['not-retryable', 'unrecoverable']);
  });

  it('dead-letters unregistered tasks and keeps consuming', async () => {
    const { stem, worker, broker, backend, registry } = setup([{ name: 'known', call: () => 'fine' }]);
    await worker.start();
    // A producer elsewhere that does not check names sends a task no worker has.
    const unchecked = new Stem({ broker, backend, registry, allowUnknownTasks: true });
    const unknown = await unchecked.enqueue('nobody.home');
    const known = await stem.enqueue('known');
    expect((await stem.waitForTask(known, { timeout: 2_000 })).value).toBe('fine');
    const res = await stem.waitForTask(unknown, { timeout: 2_000 });
    expect(res.status?.error?.message).toMatch(/nobody\.home.*not registered/);
    expect((await broker.getDeadLetter('default', unknown))?.reason).toBe('unregistered-task');
  });

  it('cancels an expired task without running it', async () => {
    let ran = false;
    const { stem, worker, broker } = setup([
      {
        name: 'late',
        call: () => {
          ran = true;
        },
      },
    ]);
    const id = await stem.enqueue('late', {}, { expires: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await worker.start();
    const res = await stem.waitForTask(id, { timeout: 2_000 });
    expect(res.status).toMatchObject({ state: 'cancelled', error: { type: 'TaskExpired' } });
    expect(ran).toBe(false);
    expect((await broker.getDeadLetter('default', id))?.reason).toBe('expired');
  });

  it('delays rate-limited tasks without failing them or using attempts', async () => {
    const seen: { attempt: number; at: number }[] = [];
    const { stem, worker } = setup([
      {
        name: 'limited',
        options: { rateLimit: '2/s' },
        call: (ctx) => {
          seen.push({ attempt: ctx.attempt, at: Date.now() });
        },
      },
    ]);
    let limited = 0;
    worker.signals.on('task-rate-limited', () => limited++);
    await worker.start();
    const start = Date.now();
    const ids = await stem.enqueueMany(Array.from({ length: 4 }, () => ({ name: 'limited' })));
    const results = await Promise.all(ids.map((id) => stem.waitForTask(id, { timeout: 5_000 })));
    expect(results.every((r) => r.status?.state === 'succeeded')).toBe(true);
    expect(seen.every((s) => s.attempt === 0)).toBe(true);
    expect(limited).toBeGreaterThan(0);
    expect(Math.max(...seen.map((s) => s.at)) - start).toBeGreaterThanOrEqual(700);
  });

  it('never runs more tasks at once than its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const { stem, worker } = setup(
      [
        {
          name: 'slow',
          call: async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 5));
            running--;
          },
        },
      ],
      { concurrency: 3, prefetch: 10 },
    );
    await worker.start();
    const ids = await stem.enqueueMany(Array.from({ length: 40 }, () => ({ name: 'slow' })));
    await Promise.all(ids.map((id) => stem.waitForTask(id, { timeout: 5_000 })));
    expect(peak).toBe(3);
  });

  it('hard time limit fails the attempt and frees the slot; soft limit aborts the signal', async () => {
    let softAborted = false;
    const { stem, worker } = setup(
      [
        { name: 'stuck', options: { hardTimeLimit: 50 }, call: () => new Promise(() => undefined) },
        {
          name: 'polite',
          options: { softTimeLimit: 30 },
          call: (ctx) =>
            new Promise((resolve) =>
              ctx.signal.addEventListener('abort', () => {
                softAborted = true;
                resolve('stopped');
              }),
            ),
        },
        { name: 'quick', call: () => 'done' },
      ],
      { concurrency: 1, prefetch: 0 },
    );
    await worker.start();
    const stuck = await stem.enqueue('stuck');
    const quick = await stem.enqueue('quick');
    const polite = await stem.enqueue('polite');
    expect((await stem.waitForTask(stuck, { timeout: 2_000 })).status).toMatchObject({ state: 'failed', error: { type: 'TimeLimitExceededError' } });
    expect((await stem.waitForTask(quick, { timeout: 2_000 })).value).toBe('done');
    expect((await stem.waitForTask(polite, { timeout: 2_000 })).value).toBe('stopped');
    expect(softAborted).toBe(true);
  });

  it('persists progress and heartbeats, and gives children lineage', async () => {
    const { stem, worker, backend } = setup([
      {
        name: 'parent',
        call: async (ctx) => {
          await ctx.progress(50, { step: 'half' });
          await ctx.heartbeat();
          return ctx.enqueue('child', { n: 1 });
        },
      },
      { name: 'child', call: (ctx) => ({ parent: ctx.meta['stem.parentTaskId'], root: ctx.meta['stem.rootTaskId'], tenant: ctx.headers['x-tenant'] }) },
    ]);
    await worker.start();
    const id = await stem.enqueue('parent', {}, { headers: { 'x-tenant': 't1' } });
    const res = await stem.waitForTask<string>(id, { timeout: 2_000 });
    const status = await backend.get(id);
    expect(status?.progress).toMatchObject({ percent: 50, data: { step: 'half' } });
    expect(status?.heartbeatAt).toBeGreaterThan(0);
    const child = await stem.waitForTask(res.value!, { timeout: 2_000 });
    expect(child.value).toEqual({ parent: id, root: id, tenant: 't1' });
  });

  it('renews leases of long tasks so they are not redelivered', async () => {
    let runs = 0;
    const { stem, worker } = setup([
      {
        name: 'long',
        options: { visibilityTimeout: 400 },
        call: async () => {
          runs++;
          await new Promise((r) => setTimeout(r, 1_300));
        },
      },
    ]);
    const other = new Worker({ broker: worker['broker'] as InMemoryBroker, registry: worker['registry'] as SimpleTaskRegistry, concurrency: 1 });
    await worker.start();
    await other.start();
    const id = await stem.enqueue('long');
    expect((await stem.waitForTask(id, { timeout: 5_000 })).status?.state).toBe('succeeded');
    await other.close();
    expect(runs).toBe(1);
  });

  it('warm close waits for running tasks; hard close requeues them', async () => {
    const { stem, worker, broker } = setup([
      {
        name: 'work',
        call: async () => {
          await new Promise((r) => setTimeout(r, 100));
          return 'finished';
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('work');
    await new Promise((r) => setTimeout(r, 20));
    await worker.close();
    expect((await stem.getTaskStatus(id))?.state).toBe('succeeded');

    const again = new Worker({ broker, backend: stem.backend, registry: stem.registry!, concurrency: 1 });
    await again.start();
    const second = await stem.enqueue('work');
    await new Promise((r) => setTimeout(r, 20));
    await again.close({ mode: 'hard' });
    expect((await stem.getTaskStatus(second))?.state).toBe('running');
    expect(await broker.pendingCount('default')).toBe(1);
  });

  it('waitForTask reports a timeout with the last status', async () => {
    const { stem } = setup([{ name: 'never', call: () => undefined }]);
    const id = await stem.enqueue('never');
    const res = await stem.waitForTask(id, { timeout: 50 });
    expect(res).toMatchObject({ timedOut: true, status: { state: 'queued' } });
  });

  it('stamps envelopes with precedence: call > task > defaults', async () => {
    const registry = new SimpleTaskRegistry([{ name: 't', options: { queue: 'task-q', priority: 3, maxRetries: 2 }, call: () => undefined }]);
    const stem = new Stem({ broker: new InMemoryBroker(), registry, defaults: { queue: 'default-q', priority: 1, maxRetries: 9 } });
    const fromTask: Envelope = stem.buildEnvelope('t', {});
    expect(fromTask).toMatchObject({ queue: 'task-q', priority: 3, maxRetries: 2 });
    expect(stem.buildEnvelope('t', {}, { queue: 'call-q', priority: 7, maxRetries: 0 })).toMatchObject({ queue: 'call-q', priority: 7, maxRetries: 0 });
    expect(stem.buildEnvelope('unknown', {})).toMatchObject({ queue: 'default-q', priority: 1 });
    expect(() => stem.buildEnvelope('t', {}, { priority: 12 })).toThrow(/priority.*0 to 9/);
  });
});
