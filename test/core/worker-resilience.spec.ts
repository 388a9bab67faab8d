import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  ConfigurationError,
  type Delivery,
  EnvelopeSigner,
  generateEd25519KeyPair,
  LeaseLostError,
  type ResultBackend,
  SimpleTaskRegistry,
  Stem,
  type TaskHandler,
  Worker,
  type WorkerOptions,
} from '../../lib/core/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(handlers: TaskHandler[], options: Partial<WorkerOptions> & { backend?: ResultBackend; broker?: InMemoryBroker } = {}) {
  const broker = options.broker ?? new InMemoryBroker();
  const backend = options.backend ?? new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry, ...(options.signer ? { signer: options.signer } : {}) });
  const worker = new Worker({ broker, backend, registry, concurrency: 2, ...options });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, stem, worker };
}

const until = async (check: () => Promise<boolean> | boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Worker resilience', () => {
  it('a soft shutdown requeues a task that stopped on its signal, without using an attempt', async () => {
    const { stem, worker, broker } = setup([
      {
        name: 'polite',
        options: { maxRetries: 0 },
        call: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('polite');
    await until(async () => (await stem.getTaskStatus(id))?.state === 'running');
    await worker.close({ mode: 'soft', gracePeriod: 1_000 });
    expect(await stem.getTaskStatus(id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(await broker.pendingCount('default')).toBe(1);
    expect((await broker.listDeadLetters('default')).items).toEqual([]);
  });

  it('fails a task whose result cannot be stored once, without re-running it', async () => {
    let runs = 0;
    const { stem, worker, broker } = setup([
      {
        name: 'bigint',
        options: { maxRetries: 3 },
        call: () => {
          runs++;
          return { n: 10n };
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('bigint');
    const res = await stem.waitForTask(id, { timeout: 2_000 });
    expect(res.status).toMatchObject({ state: 'failed', error: { type: 'ResultNotStorableError', retryable: false } });
    expect(res.status?.error?.message).toMatch(/Task "bigint" returned a result that cannot be stored/);
    expect((await broker.getDeadLetter('default', id))?.reason).toBe('result-not-storable');
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(1);
  });

  it('requeues a delivery shortly when the backend fails, and runs it once the backend is back', async () => {
    const inner = new InMemoryResultBackend();
    let failNextRunning = true;
    const flaky: ResultBackend = Object.assign(Object.create(inner) as ResultBackend, {
      set: async (id: string, update: Parameters<ResultBackend['set']>[1], options?: Parameters<ResultBackend['set']>[2]) => {
        if (update.state === 'running' && failNextRunning) {
          failNextRunning = false;
          throw new Error('ECONNRESET');
        }
        return inner.set(id, update, options);
      },
    });
    let runs = 0;
    const { stem, worker } = setup([{ name: 'work', call: () => ++runs }], { backend: flaky });
    const errors: unknown[] = [];
    worker.signals.on('worker-error', ({ error: e }) => errors.push(e));
    await worker.start();
    const started = Date.now();
    const id = await stem.enqueue('work');
    const res = await stem.waitForTask(id, { timeout: 5_000 });
    expect(res.status?.state).toBe('succeeded');
    expect((errors[0] as Error).message).toBe('ECONNRESET');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('stops a task whose lease was lost and writes nothing for it', async () => {
    const broker = new InMemoryBroker();
    broker.extendLease = async (delivery: Delivery) => {
      throw new LeaseLostError(delivery.envelope.id, delivery.envelope.queue);
    };
    let aborted: unknown;
    const { stem, worker } = setup(
      [
        {
          name: 'long',
          options: { visibilityTimeout: 200 },
          call: (ctx) =>
            new Promise((resolve) =>
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason;
                resolve('too late');
              }),
            ),
        },
      ],
      { broker },
    );
    const lost: string[] = [];
    worker.signals.on('task-lease-lost', ({ envelope: env }) => lost.push(env.id));
    await worker.start();
    const id = await stem.enqueue('long');
    await until(() => lost.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(lost).toEqual([id]);
    expect(aborted).toBeInstanceOf(LeaseLostError);
    expect((await stem.getTaskStatus(id))?.state).toBe('running');
  });

  it('merges a per-call retry policy over the task policy field by field', async () => {
    class Declined extends Error {}
    let runs = 0;
    const { stem, worker } = setup([
      {
        name: 'pay',
        options: { maxRetries: 3, retryPolicy: { dontAutoRetryFor: [Declined], backoff: 5, jitter: false } },
        call: () => {
          runs++;
          throw new Declined('card declined');
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('pay', {}, { retryPolicy: { backoff: 1 } });
    expect((await stem.waitForTask(id, { timeout: 2_000 })).status?.state).toBe('failed');
    expect(runs).toBe(1);
  });

  it('matches retry filters given by name against parent classes too', async () => {
    class HttpError extends Error {}
    class NotFoundError extends HttpError {}
    let runs = 0;
    const { stem, worker } = setup([
      {
        name: 'fetch',
        options: { maxRetries: 3, retryPolicy: { dontAutoRetryFor: ['HttpError'], backoff: 5 } },
        call: () => {
          runs++;
          throw new NotFoundError('404');
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('fetch');
    expect((await stem.waitForTask(id, { timeout: 2_000 })).status?.state).toBe('failed');
    expect(runs).toBe(1);
  });

  it('replays signed dead letters: re-signed, recorded queued, and run again', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: Buffer.from('0123456789abcdef0123456789abcdef').toString('base64') }, activeKey: 'k1' });
    let runs = 0;
    const { stem, worker, broker } = setup(
      [
        {
          name: 'once-broken',
          call: (ctx) => {
            runs++;
            if (ctx.attempt === 0) throw new Error('bad day');
            return 'fixed';
          },
        },
      ],
      { signer },
    );
    await worker.start();
    const id = await stem.enqueue('once-broken');
    expect((await stem.waitForTask(id, { timeout: 2_000 })).status?.state).toBe('failed');
    await until(async () => (await broker.getDeadLetter('default', id)) !== null);
    const replay = await stem.replayDeadLetters('default', { delay: 300 });
    expect(replay.entries.map((e) => e.envelope.id)).toEqual([id]);
    expect(await stem.getTaskStatus(id)).toMatchObject({ state: 'queued', attempt: 1 });
    const res = await stem.waitForTask(id, { timeout: 3_000 });
    expect(res).toMatchObject({ value: 'fixed', status: { state: 'succeeded', attempt: 1 } });
    expect(runs).toBe(2);
  });

  it('refuses a worker whose signer can only verify', () => {
    const { publicKey } = generateEd25519KeyPair();
    const verifyOnly = new EnvelopeSigner({ algorithm: 'ed25519', publicKeys: { k1: publicKey } });
    expect(() => new Worker({ broker: new InMemoryBroker(), registry: new SimpleTaskRegistry(), signer: verifyOnly })).toThrow(ConfigurationError);
    expect(() => new Worker({ broker: new InMemoryBroker(), registry: new SimpleTaskRegistry(), signer: verifyOnly })).toThrow(/only verify keys/);
  });
});
