import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  ConfigurationError,
  InlineExecutor,
  SimpleTaskRegistry,
  Stem,
  type TaskExecutor,
  type TaskHandler,
  type TaskOutcome,
  type TaskRun,
  UnrecoverableError,
  Worker,
  type WorkerExtension,
  type WorkerOptions,
} from '../../lib/core/index.js';
import { until } from '../support/until.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(handlers: TaskHandler[], options: Partial<WorkerOptions> = {}) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry });
  const worker = new Worker({ broker, backend, registry, concurrency: 2, ...options });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, stem, worker, registry };
}

const fastRetry = { backoff: 10, jitter: false };

/** An extension that records every hook it sees, as `hook:task#attempt[:state]`. */
function recorder(log: string[], name = 'recorder'): WorkerExtension {
  const tag = (run: TaskRun) => `${run.envelope.name}#${run.envelope.attempt}`;
  return {
    name,
    beforeRun: (run) => void log.push(`${name}.beforeRun:${tag(run)}`),
    wrapRun: async (run, next) => {
      log.push(`${name}.wrapRun:${tag(run)}`);
      try {
        return await next();
      } finally {
        log.push(`${name}.wrapRun-done:${tag(run)}`);
      }
    },
    onSettled: (outcome: TaskOutcome) => void log.push(`${name}.onSettled:${outcome.envelope.name}#${outcome.envelope.attempt}:${outcome.state}`),
  };
}

describe('Worker extensions', () => {
  it('see beforeRun, wrapRun and onSettled in order; onSettled runs after the status is stored and before the ack', async () => {
    const log: string[] = [];
    const seen: TaskOutcome[] = [];
    let stem!: Stem;
    const probe: WorkerExtension = {
      name: 'probe',
      onSettled: async (outcome) => {
        seen.push(outcome);
        log.push(`probe.status:${(await stem.getTaskStatus(outcome.envelope.id))?.state}`);
      },
    };
    const ctx = setup(
      [
        {
          name: 'add',
          call: (_ctx, a: { x: number; y: number }) => {
            log.push('handler');
            return a.x + a.y;
          },
        },
      ],
      {
        extensions: [recorder(log), probe],
      },
    );
    stem = ctx.stem;
    const ack = ctx.broker.ack.bind(ctx.broker);
    ctx.broker.ack = async (d) => {
      log.push('ack');
      return ack(d);
    };
    await ctx.worker.start();
    const id = await stem.enqueue('add', { x: 2, y: 3 });
    expect((await stem.waitForTask<number>(id, { timeout: 2_000 })).value).toBe(5);
    await until(() => log.includes('ack'));
    expect(log).toEqual([
      'recorder.beforeRun:add#0',
      'recorder.wrapRun:add#0',
      'handler',
      'recorder.wrapRun-done:add#0',
      'recorder.onSettled:add#0:succeeded',
      'probe.status:succeeded',
      'ack',
    ]);
    expect(seen[0]).toMatchObject({ state: 'succeeded', result: 5, envelope: { id } });
  });

  it('see a retry as an outcome, then the next attempt, under the same id', async () => {
    const log: string[] = [];
    const outcomes: TaskOutcome[] = [];
    const { stem, worker } = setup(
      [
        {
          name: 'flaky',
          options: { maxRetries: 2, retryPolicy: fastRetry },
          call: (ctx) => {
            if (ctx.attempt === 0) throw new Error('transient');
            return 'ok';
          },
        },
      ],
      { extensions: [recorder(log), { name: 'keep', onSettled: (o) => void outcomes.push(o) }] },
    );
    await worker.start();
    const id = await stem.enqueue('flaky');
    expect((await stem.waitForTask(id, { timeout: 2_000 })).status).toMatchObject({ state: 'succeeded', attempt: 1 });
    await until(() => outcomes.length === 2);
    expect(log).toEqual([
      'recorder.beforeRun:flaky#0',
      'recorder.wrapRun:flaky#0',
      'recorder.wrapRun-done:flaky#0',
      'recorder.onSettled:flaky#0:retried',
      'recorder.beforeRun:flaky#1',
      'recorder.wrapRun:flaky#1',
      'recorder.wrapRun-done:flaky#1',
      'recorder.onSettled:flaky#1:succeeded',
    ]);
    expect(outcomes[0]).toMatchObject({ state: 'retried', delayMs: 10, error: { message: 'transient', retryable: true }, envelope: { id } });
    expect(outcomes[1]).toMatchObject({ state: 'succeeded', envelope: { id, attempt: 1 } });
  });

  it('see a dead letter as a failed outcome with its reason', async () => {
    const log: string[] = [];
    const outcomes: TaskOutcome[] = [];
    const { stem, worker, broker } = setup(
      [
        {
          name: 'fatal',
          call: () => {
            throw new UnrecoverableError('bad data');
          },
        },
      ],
      {
        extensions: [recorder(log), { name: 'keep', onSettled: (o) => void outcomes.push(o) }],
      },
    );
    await worker.start();
    const id = await stem.enqueue('fatal');
    expect((await stem.waitForTask(id, { timeout: 2_000 })).status?.state).toBe('failed');
    await until(() => outcomes.length === 1);
    expect(log).toEqual(['recorder.beforeRun:fatal#0', 'recorder.wrapRun:fatal#0', 'recorder.wrapRun-done:fatal#0', 'recorder.onSettled:fatal#0:failed']);
    expect(outcomes[0]).toMatchObject({ state: 'failed', error: { message: 'bad data', meta: { 'stem.deadLetterReason': 'unrecoverable' } } });
    expect((await broker.getDeadLetter('default', id))?.reason).toBe('unrecoverable');
  });

  it('nest wrapRun with the first extension outermost, after the built-in onTerminal hooks settle first', async () => {
    const log: string[] = [];
    const { stem, worker } = setup(
      [
        {
          name: 'job',
          call: () => {
            log.push('handler');
          },
        },
      ],
      {
        onTerminal: [(o) => void log.push(`onTerminal:${o.state}`)],
        extensions: [recorder(log, 'outer'), recorder(log, 'inner')],
      },
    );
    await worker.start();
    const id = await stem.enqueue('job');
    await stem.waitForTask(id, { timeout: 2_000 });
    await until(() => log.includes('inner.onSettled:job#0:succeeded'));
    expect(log).toEqual([
      'outer.beforeRun:job#0',
      'inner.beforeRun:job#0',
      'outer.wrapRun:job#0',
      'inner.wrapRun:job#0',
      'handler',
      'inner.wrapRun-done:job#0',
      'outer.wrapRun-done:job#0',
      'onTerminal:succeeded',
      'outer.onSettled:job#0:succeeded',
      'inner.onSettled:job#0:succeeded',
    ]);
  });

  it('beforeRun can delay an attempt without using it, or dead-letter it without running it', async () => {
    const ran: string[] = [];
    let delays = 0;
    const gate: WorkerExtension = {
      name: 'gate',
      beforeRun: async (run) => {
        if (run.envelope.name === 'banned')
          return { action: 'dead-letter', reason: 'revoked', error: { type: 'TaskRevoked', message: 'revoked by an operator', retryable: false }, state: 'cancelled' };
        if (delays++ === 0) return { action: 'delay', delayMs: 50, reason: 'paused', meta: { 'test.pausedBy': 'ops' } };
        return { action: 'run' };
      },
    };
    const { stem, worker, broker, backend } = setup(
      [
        { name: 'later', call: (ctx) => void ran.push(`later#${ctx.attempt}`) },
        { name: 'banned', call: () => void ran.push('banned') },
      ],
      { extensions: [gate] },
    );
    const delayed: [string, number, string][] = [];
    worker.signals.on('task-delayed', ({ envelope: env, delayMs: ms, reason }) => delayed.push([env.name, ms, reason]));
    const statuses: string[] = [];
    const set = backend.set.bind(backend);
    backend.set = async (id, update, options) => {
      statuses.push(`${update.state}${update.meta?.['test.pausedBy'] ? ':paused' : ''}`);
      return set(id, update, options);
    };
    await worker.start();
    const later = await stem.enqueue('later');
    expect((await stem.waitForTask(later, { timeout: 2_000 })).status).toMatchObject({ state: 'succeeded', attempt: 0 });
    expect(delayed).toEqual([['later', 50, 'paused']]);
    expect(statuses).toEqual(['queued', 'queued:paused', 'running', 'succeeded']);

    const banned = await stem.enqueue('banned');
    expect((await stem.waitForTask(banned, { timeout: 2_000 })).status).toMatchObject({ state: 'cancelled', error: { type: 'TaskRevoked' } });
    expect((await broker.getDeadLetter('default', banned))?.reason).toBe('revoked');
    expect(ran).toEqual(['later#0']);
  });

  it('a failing onSettled with requeueOnFailure requeues a succeeded delivery instead of acking it; without it only reports', async () => {
    let calls = 0;
    let failures = 1;
    const errors: unknown[] = [];
    const strict: WorkerExtension = {
      name: 'strict',
      requeueOnFailure: true,
      onSettled: async (o) => {
        if (o.state === 'succeeded' && failures-- > 0) throw new Error('follow-up store down');
      },
    };
    const { stem, worker } = setup([{ name: 'once', call: () => ++calls }], { extensions: [strict] });
    worker.signals.on('worker-error', ({ error: e }) => errors.push(e));
    await worker.start();
    const id = await stem.enqueue('once');
    await until(() => calls === 2 && worker.stats().succeeded === 1, 5_000);
    expect((await stem.getTaskStatus(id))?.state).toBe('succeeded');
    expect(errors.map((e) => (e as Error).message)).toContain('follow-up store down');
    expect(worker.stats().succeeded).toBe(1);

    let lenientCalls = 0;
    const lenient = setup([{ name: 'once', call: () => ++lenientCalls }], {
      extensions: [
        {
          name: 'lenient',
          onSettled: () => {
            throw new Error('metrics sink down');
          },
        },
      ],
    });
    const reported: unknown[] = [];
    lenient.worker.signals.on('worker-error', ({ error: e }) => reported.push(e));
    await lenient.worker.start();
    const other = await lenient.stem.enqueue('once');
    await lenient.stem.waitForTask(other, { timeout: 2_000 });
    await until(async () => (await lenient.broker.inflightCount('default')) === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(lenientCalls).toBe(1);
    expect(reported.map((e) => (e as Error).message)).toEqual(['metrics sink down']);
    expect(await lenient.broker.pendingCount('default')).toBe(0);
  });
});

describe('Worker executors', () => {
  it('runs a task in the executor its runIn option names, and the others inline', async () => {
    const ranIn: string[] = [];
    const inline = new InlineExecutor();
    const pool: TaskExecutor & { closed: boolean } = {
      closed: false,
      run(run) {
        ranIn.push(`pool:${run.envelope.name}`);
        return inline.run(run);
      },
      async close() {
        this.closed = true;
      },
    };
    const { stem, worker } = setup(
      [
        { name: 'heavy', options: { runIn: 'pool' }, call: (_ctx, a: { n: number }) => a.n * 2 },
        { name: 'light', call: () => 'inline' },
      ],
      { executors: { pool } },
    );
    await worker.start();
    const heavy = await stem.enqueue('heavy', { n: 21 });
    const light = await stem.enqueue('light');
    expect((await stem.waitForTask(heavy, { timeout: 2_000 })).value).toBe(42);
    expect((await stem.waitForTask(light, { timeout: 2_000 })).value).toBe('inline');
    expect(ranIn).toEqual(['pool:heavy']);
    await worker.close();
    expect(pool.closed).toBe(true);
  });

  it('refuses to start when a task names an executor the worker does not have', async () => {
    const { worker } = setup([{ name: 'heavy', options: { runIn: 'threads' }, call: () => 1 }]);
    await expect(worker.start()).rejects.toThrow(ConfigurationError);
    await expect(worker.start()).rejects.toThrow(/task "heavy" runs in executor "threads".*"inline"/);
  });
});

describe('Worker close escalation', () => {
  it('a hard close during a warm close takes over: running deliveries are requeued at once', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const { stem, worker, broker } = setup([{ name: 'stuck', call: () => stuck }]);
    let closed = 0;
    worker.signals.on('worker-shutdown', () => closed++);
    await worker.start();
    const id = await stem.enqueue('stuck');
    await until(async () => (await stem.getTaskStatus(id))?.state === 'running');
    let warmDone = false;
    const warm = worker.close();
    void warm.then(() => (warmDone = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(warmDone).toBe(false);
    const started = Date.now();
    const hard = worker.close({ mode: 'hard' });
    expect(hard).toBe(warm);
    await hard;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(warmDone).toBe(true);
    expect(closed).toBe(1);
    expect(await broker.pendingCount('default')).toBe(1);
    expect(await broker.inflightCount('default')).toBe(0);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect((await stem.getTaskStatus(id))?.state).toBe('running');
  });

  it('a soft close during a warm close aborts the signals; a weaker or equal close changes nothing', async () => {
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
    let warmDone = false;
    const warm = worker.close({ mode: 'warm' });
    void warm.then(() => (warmDone = true));
    expect(worker.close({ mode: 'warm' })).toBe(warm);
    await new Promise((r) => setTimeout(r, 100));
    expect(warmDone).toBe(false);
    await worker.close({ mode: 'soft', gracePeriod: 1_000 });
    expect(warmDone).toBe(true);
    expect(await stem.getTaskStatus(id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(await broker.pendingCount('default')).toBe(1);
    expect((await broker.listDeadLetters('default')).items).toEqual([]);
  });

  it('a hard close during a soft close does not wait for the grace period', async () => {
    const { stem, worker, broker } = setup([{ name: 'deaf', call: () => new Promise(() => undefined) }]);
    await worker.start();
    const id = await stem.enqueue('deaf');
    await until(async () => (await stem.getTaskStatus(id))?.state === 'running');
    const soft = worker.close({ mode: 'soft', gracePeriod: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await worker.close({ mode: 'hard' });
    await soft;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await broker.pendingCount('default')).toBe(1);
  });
});
