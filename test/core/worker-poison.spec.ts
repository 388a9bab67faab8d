import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  ConfigurationError,
  type Delivery,
  EnvelopeSigner,
  type Envelope,
  type GroupStore,
  SimpleTaskRegistry,
  Stem,
  StemMeta,
  type TaskHandler,
  Worker,
  type WorkerOptions,
} from '../../lib/core/index.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';

const QUEUE = 'default';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (check: () => Promise<boolean> | boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
};

/**
 * A worker on the memory broker with a valid task `ok` next to whatever handlers a case needs.
 * Counts the runs of every handler by task id and the deliveries the worker received.
 */
function setup(handlers: TaskHandler[], options: Partial<WorkerOptions> & { broker?: InMemoryBroker } = {}) {
  const broker = options.broker ?? new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const runs = new Map<string, number>();
  const count = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);
  const ok: TaskHandler = {
    name: 'ok',
    call: (ctx) => {
      count(ctx.id);
      return 'done';
    },
  };
  const counted = handlers.map((h): TaskHandler => ({
    ...h,
    call: (ctx, args) => {
      count(ctx.id);
      return h.call(ctx, args);
    },
  }));
  const registry = new SimpleTaskRegistry([ok, ...counted]);
  const stem = new Stem({ broker, backend, registry, ...(options.signer ? { signer: options.signer } : {}) });
  const worker = new Worker({ broker, backend, registry, concurrency: 4, pipelineFailureBudget: 3, pipelineFailureBackoff: 20, ...options });
  const received = new Map<string, number>();
  worker.signals.on('task-received', ({ envelope: env }) => received.set(env.id, (received.get(env.id) ?? 0) + 1));
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  /** Enqueues `n` valid tasks and resolves once all of them succeeded, each run exactly once. */
  const valid = async (n: number) => {
    const ids = await Promise.all(Array.from({ length: n }, () => stem.enqueue('ok')));
    return async () => {
      const results = await Promise.all(ids.map((id) => stem.waitForTask(id, { timeout: 5_000 })));
      expect(results.map((r) => r.status?.state)).toEqual(ids.map(() => 'succeeded'));
      expect(ids.map((id) => runs.get(id))).toEqual(ids.map(() => 1));
    };
  };
  return { broker, backend, stem, worker, runs, received, valid };
}

/** A raw envelope as a buggy or hostile producer would store it, with `patch` applied. */
function raw(name: string, patch: Record<string, unknown> = {}): Envelope {
  return { id: uuidv7(), name, args: {}, headers: {}, queue: QUEUE, priority: 0, attempt: 0, enqueuedAt: Date.now(), meta: {}, ...patch } as Envelope;
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function deadLetters(broker: InMemoryBroker) {
  return (await broker.listDeadLetters(QUEUE, { limit: 1_000 })).items;
}

describe('Worker: poison reaches the dead letter queue, bounded, next to valid work', () => {
  const failing: TaskHandler = {
    name: 'fails',
    options: { maxRetries: 3 },
    call: () => {
      throw new Error('always');
    },
  };

  it.each([
    ['attempt -1e9 with a failing handler', raw('fails', { attempt: -1e9 }), /attempt must be an integer/],
    ['stem.expiresAt -1e16', raw('ok', { meta: { [StemMeta.expiresAt]: -1e16 } }), /stem\.expiresAt/],
    ['stem.expiresAt []', raw('ok', { meta: { [StemMeta.expiresAt]: [] } }), /stem\.expiresAt/],
    ['a stem.retryPolicy that is a string', raw('fails', { meta: { [StemMeta.retryPolicy]: 'fast' } }), /stem\.retryPolicy/],
    ['a stem.retryPolicy with a non-numeric backoff', raw('fails', { meta: { [StemMeta.retryPolicy]: { backoff: 'soon', autoRetryFor: 7 } } }), /stem\.retryPolicy/],
    ['args nested 10,000 deep', raw('fails', { args: nested(10_000) }), /args is nested deeper/],
    ['meta nested 10,000 deep', raw('ok', { meta: { deep: nested(10_000) } }), /meta is nested deeper/],
  ])('%s: one dead letter malformed-envelope, never run', async (_label, envelope, details) => {
    const { broker, worker, runs, received, valid } = setup([failing]);
    await worker.start();
    const before = await valid(5);
    await broker.publish(envelope);
    const after = await valid(5);
    await before();
    await after();
    await until(async () => (await deadLetters(broker)).length === 1);
    await sleep(100);
    const letters = await deadLetters(broker);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'malformed-envelope', envelope: { id: envelope.id } });
    expect((letters[0]!.meta as { error: { message: string } }).error.message).toMatch(details);
    expect(runs.get(envelope.id)).toBeUndefined();
    expect(received.get(envelope.id)).toBeUndefined();
    expect(await broker.pendingCount(QUEUE)).toBe(0);
    expect(await broker.inflightCount(QUEUE)).toBe(0);
  });

  it('a failing handler with many retries is retried with backoff, not in a hot loop, and ends as one dead letter', async () => {
    const { broker, worker, stem, runs, valid } = setup([
      {
        name: 'fails',
        options: { maxRetries: 4, retryPolicy: { backoff: 20, jitter: false } },
        call: () => {
          throw new Error('always');
        },
      },
    ]);
    await worker.start();
    const id = await stem.enqueue('fails');
    const others = await valid(5);
    await stem.waitForTask(id, { timeout: 5_000 });
    await others();
    expect(runs.get(id)).toBe(5);
    const letters = await deadLetters(broker);
    expect(letters.map((l) => [l.envelope.id, l.reason])).toEqual([[id, 'max-retries-exhausted']]);
  });

  it('a beforeRun that throws for a task: requeued with backoff, then one dead letter pipeline-error; the handler never runs', async () => {
    let admissions = 0;
    const { broker, worker, stem, runs, received, valid } = setup([{ name: 'guarded', call: () => 'ran' }], {
      extensions: [
        {
          name: 'picky',
          beforeRun: (run) => {
            if (run.envelope.name !== 'guarded') return;
            admissions++;
            throw new Error('admission store down');
          },
        },
      ],
    });
    const errors: unknown[] = [];
    worker.signals.on('worker-error', ({ error: e }) => errors.push(e));
    await worker.start();
    const started = Date.now();
    const id = await stem.enqueue('guarded');
    const others = await valid(5);
    const status = (await stem.waitForTask(id, { timeout: 5_000 })).status;
    await others();
    // backoff 20 ms then 40 ms before the third failure ends it
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(status).toMatchObject({
      state: 'failed',
      error: { message: 'admission store down', meta: { [StemMeta.deadLetterReason]: 'pipeline-error', [StemMeta.pipelineFailures]: 3 } },
    });
    await sleep(150);
    expect(admissions).toBe(3);
    expect(received.get(id)).toBe(3);
    expect(runs.get(id)).toBeUndefined();
    const letters = await deadLetters(broker);
    expect(letters.map((l) => [l.envelope.id, l.reason])).toEqual([[id, 'pipeline-error']]);
    expect((letters[0]!.meta as { error: { message: string } }).error.message).toBe('admission store down');
    expect(errors.filter((e) => (e as Error).message === 'admission store down')).toHaveLength(3);
  });

  it('a follow-up that fails after the task succeeded (a group the worker cannot record): the handler runs at most the budget, succeeded stays recorded', async () => {
    const { broker, worker, backend, runs, valid } = setup([{ name: 'member', call: () => 'ok' }]);
    await worker.start();
    const envelope = raw('member', { headers: { 'stem-group-id': 'no-such-store' }, meta: { 'stem.group.index': 0 } });
    await backend.set(envelope.id, { state: 'queued', attempt: 0, name: 'member', queue: QUEUE });
    await broker.publish(envelope);
    const others = await valid(5);
    await others();
    await until(async () => (await deadLetters(broker)).length === 1);
    await sleep(200);
    expect(runs.get(envelope.id)).toBe(3);
    const letters = await deadLetters(broker);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      reason: 'pipeline-error',
      envelope: { id: envelope.id },
      meta: { error: { retryable: false, meta: { resultStored: true, [StemMeta.pipelineFailures]: 3 } } },
    });
    expect((letters[0]!.meta as { error: { message: string } }).error.message).toMatch(/no groupStore/);
    expect(await backend.get(envelope.id)).toMatchObject({ state: 'succeeded', payload: 'ok', meta: { [StemMeta.deadLetterReason]: 'pipeline-error' } });
    expect(await broker.pendingCount(QUEUE)).toBe(0);
    expect(await broker.inflightCount(QUEUE)).toBe(0);
  });

  it('a stem.chain whose next step the broker refuses: the handler runs at most the budget, then one dead letter, succeeded stays', async () => {
    const broker = new InMemoryBroker();
    const publish = broker.publish.bind(broker);
    broker.publish = async (envelope: Envelope) => {
      if (envelope.name === 'chain.next') throw new Error('publish refused for chain.next');
      return publish(envelope);
    };
    const { worker, backend, runs, valid } = setup(
      [
        { name: 'step', call: () => 'first' },
        { name: 'chain.next', call: () => 'second' },
      ],
      { broker },
    );
    await worker.start();
    const chain = { id: uuidv7(), next: [{ name: 'chain.next', args: [], options: { taskId: uuidv7() } }] };
    const envelope = raw('step', { meta: { 'stem.chain': chain } });
    await publish(envelope);
    const others = await valid(5);
    await others();
    await until(async () => (await deadLetters(broker)).length === 1);
    await sleep(200);
    expect(runs.get(envelope.id)).toBe(3);
    const letters = await deadLetters(broker);
    expect(letters.map((l) => [l.envelope.id, l.reason])).toEqual([[envelope.id, 'pipeline-error']]);
    expect((letters[0]!.meta as { error: { message: string } }).error.message).toMatch(/publish refused/);
    expect(await backend.get(envelope.id)).toMatchObject({ state: 'succeeded', payload: 'first' });
    expect(await broker.pendingCount(QUEUE)).toBe(0);
    expect(await broker.inflightCount(QUEUE)).toBe(0);
  });

  it('a group store that refuses the member: bounded runs, one dead letter, valid tasks unaffected', async () => {
    let refusals = 0;
    const groupStore = {
      addResult: async () => {
        refusals++;
        throw new Error('group store refused the write');
      },
    } as unknown as GroupStore;
    const { broker, worker, runs, valid } = setup([{ name: 'member', call: () => 'ok' }], { groupStore });
    await worker.start();
    const envelope = raw('member', { headers: { 'stem-group-id': 'g-1' }, meta: { 'stem.group.index': 0 } });
    await broker.publish(envelope);
    const others = await valid(5);
    await others();
    await until(async () => (await deadLetters(broker)).length === 1);
    await sleep(200);
    expect(refusals).toBe(3);
    expect(runs.get(envelope.id)).toBe(3);
    expect((await deadLetters(broker)).map((l) => l.reason)).toEqual(['pipeline-error']);
  });

  it('a dead-letter write the broker refuses leaves the delivery to its lease (no hot loop), and it ends as one dead letter once the broker accepts it', async () => {
    const broker = new InMemoryBroker();
    let refuse = true;
    let refused = 0;
    const deadLetter = broker.deadLetter.bind(broker);
    broker.deadLetter = async (delivery: Delivery, reason: string, meta?: Record<string, unknown>) => {
      if (refuse && delivery.envelope.name === 'fails') {
        refused++;
        throw new Error('dead letter refused');
      }
      return deadLetter(delivery, reason, meta);
    };
    const { worker, stem, runs, valid } = setup(
      [
        {
          name: 'fails',
          options: { maxRetries: 0, visibilityTimeout: 300 },
          call: () => {
            throw new Error('always');
          },
        },
      ],
      { broker },
    );
    await worker.start();
    const id = await stem.enqueue('fails');
    const others = await valid(5);
    await others();
    await sleep(1_000);
    // one run per lease (300 ms) at most: about 4 in a second, never thousands
    const runsWhileRefused = runs.get(id) ?? 0;
    expect(runsWhileRefused).toBeGreaterThanOrEqual(2);
    expect(runsWhileRefused).toBeLessThanOrEqual(6);
    expect(refused).toBeLessThanOrEqual(2 * runsWhileRefused);
    const more = await valid(5);
    await more();
    refuse = false;
    const status = (await stem.waitForTask(id, { timeout: 3_000 })).status;
    expect(status?.state).toBe('failed');
    await sleep(400);
    const letters = await deadLetters(broker);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.envelope.id).toBe(id);
    expect(['not-retryable', 'max-retries-exhausted', 'pipeline-error']).toContain(letters[0]!.reason);
    expect(await broker.pendingCount(QUEUE)).toBe(0);
    expect(await broker.inflightCount(QUEUE)).toBe(0);
  });

  it('a requeue the broker refuses still counts: the worker remembers the failures and dead-letters the delivery', async () => {
    const broker = new InMemoryBroker();
    const nack = broker.nack.bind(broker);
    broker.nack = async (delivery, options) => {
      if (delivery.envelope.name === 'guarded') throw new Error('requeue refused');
      return nack(delivery, options);
    };
    let admissions = 0;
    const { worker, stem, valid } = setup([{ name: 'guarded', options: { visibilityTimeout: 150 }, call: () => 'ran' }], {
      broker,
      extensions: [
        {
          name: 'picky',
          beforeRun: (run) => {
            if (run.envelope.name === 'guarded') {
              admissions++;
              throw new Error('admission store down');
            }
          },
        },
      ],
    });
    await worker.start();
    const id = await stem.enqueue('guarded');
    const others = await valid(5);
    const status = (await stem.waitForTask(id, { timeout: 5_000 })).status;
    await others();
    expect(status).toMatchObject({ state: 'failed', error: { meta: { [StemMeta.deadLetterReason]: 'pipeline-error' } } });
    expect(admissions).toBe(3);
    expect((await deadLetters(broker)).map((l) => [l.envelope.id, l.reason])).toEqual([[id, 'pipeline-error']]);
  });

  it('a result nested 10,000 deep is failed result-not-storable once, not re-run', async () => {
    const { broker, worker, stem, runs, valid } = setup([{ name: 'deep', options: { maxRetries: 3 }, call: () => nested(10_000) }]);
    await worker.start();
    const id = await stem.enqueue('deep');
    const others = await valid(5);
    const status = (await stem.waitForTask(id, { timeout: 5_000 })).status;
    await others();
    expect(status).toMatchObject({ state: 'failed', error: { type: 'ResultNotStorableError' } });
    await sleep(100);
    expect(runs.get(id)).toBe(1);
    expect((await deadLetters(broker)).map((l) => [l.envelope.id, l.reason])).toEqual([[id, 'result-not-storable']]);
  });

  it('the pipeline count in meta is re-signed with the envelope: a signed delivery keeps verifying until its dead letter', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: Buffer.from('0123456789abcdef0123456789abcdef').toString('base64') }, activeKey: 'k1' });
    let admissions = 0;
    const { broker, worker, stem, valid } = setup([{ name: 'guarded', call: () => 'ran' }], {
      signer,
      extensions: [
        {
          name: 'picky',
          beforeRun: (run) => {
            if (run.envelope.name === 'guarded') {
              admissions++;
              throw new Error('nope');
            }
          },
        },
      ],
    });
    await worker.start();
    const id = await stem.enqueue('guarded');
    const others = await valid(3);
    await others();
    await stem.waitForTask(id, { timeout: 5_000 });
    expect(admissions).toBe(3);
    expect((await deadLetters(broker)).map((l) => [l.envelope.id, l.reason])).toEqual([[id, 'pipeline-error']]);
  });

  it('a bogus pipeline count in meta does not stretch the budget', async () => {
    let admissions = 0;
    const { broker, worker, valid } = setup([{ name: 'guarded', call: () => 'ran' }], {
      extensions: [
        {
          name: 'picky',
          beforeRun: (run) => {
            if (run.envelope.name === 'guarded') {
              admissions++;
              throw new Error('nope');
            }
          },
        },
      ],
    });
    await worker.start();
    const envelope = raw('guarded', { meta: { [StemMeta.pipelineFailures]: -1e9 } });
    await broker.publish(envelope);
    const others = await valid(3);
    await others();
    await until(async () => (await deadLetters(broker)).length === 1);
    expect(admissions).toBe(3);
    expect((await deadLetters(broker))[0]).toMatchObject({ reason: 'pipeline-error', envelope: { id: envelope.id } });
  });

  it('refuses a pipelineFailureBudget or backoff out of range, naming the option', () => {
    const registry = new SimpleTaskRegistry([]);
    const broker = new InMemoryBroker();
    expect(() => new Worker({ broker, registry, pipelineFailureBudget: 0 })).toThrow(ConfigurationError);
    expect(() => new Worker({ broker, registry, pipelineFailureBudget: 2.5 })).toThrow(/pipelineFailureBudget/);
    expect(() => new Worker({ broker, registry, pipelineFailureBackoff: -1 })).toThrow(/pipelineFailureBackoff/);
  });
});
