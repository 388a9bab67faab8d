import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  MiddlewareError,
  PublishError,
  SimpleTaskRegistry,
  Stem,
  type StemMiddleware,
  type TaskHandler,
  type TaskRun,
  UnrecoverableError,
  Worker,
  type WorkerOptions,
} from '../../lib/core/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(handlers: TaskHandler[], middleware: StemMiddleware[], options: Partial<WorkerOptions> = {}) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry, middleware });
  const worker = new Worker({ broker, backend, registry, concurrency: 2, producer: stem, middleware, ...options });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, stem, worker };
}

const fastRetry = { backoff: 10, jitter: false };
/** Rejects calls whose meta has `app.bad`, and tags the others with an `x-batch` header. */
const pickOut: StemMiddleware = {
  name: 'pick-out',
  onEnqueue: (draft, next) => {
    if ((draft.meta['app.bad'] as boolean | undefined) === true) throw new Error('bad call');
    draft.headers['x-batch'] = 'yes';
    return next();
  },
};
const tag = (run: TaskRun) => `${run.envelope.name}#${run.envelope.attempt}`;

/** A middleware that records every hook as `name.hook:task#attempt`, wrapping hooks recording their end too. */
function recorder(log: string[], name: string): StemMiddleware {
  return {
    name,
    async onEnqueue(draft, next) {
      log.push(`${name}.onEnqueue:${draft.envelope.name}`);
      const id = await next();
      log.push(`${name}.onEnqueue-done:${draft.envelope.name}`);
      return id;
    },
    onConsume: (run) => void log.push(`${name}.onConsume:${tag(run)}`),
    async onExecute(run, next) {
      log.push(`${name}.onExecute:${tag(run)}`);
      try {
        return await next();
      } finally {
        log.push(`${name}.onExecute-done:${tag(run)}`);
      }
    },
    onError: (run, error) => void log.push(`${name}.onError:${tag(run)}:${(error as Error).message}`),
  };
}

describe('middleware on the producer (onEnqueue)', () => {
  it('nests in the order given, and the headers and meta it adds are published', async () => {
    const log: string[] = [];
    const stamp: StemMiddleware = {
      name: 'stamp',
      onEnqueue(draft, next) {
        draft.headers['x-tenant'] = 'acme';
        draft.meta['app.enqueuedBy'] = 'api';
        return next();
      },
    };
    let seen: { headers: Readonly<Record<string, string>>; meta: Readonly<Record<string, unknown>> } | undefined;
    const { stem, worker } = setup(
      [
        {
          name: 'echo',
          call: (ctx) => {
            seen = { headers: ctx.headers, meta: ctx.meta };
            return 'ok';
          },
        },
      ],
      [recorder(log, 'outer'), stamp, recorder(log, 'inner')],
    );
    await worker.start();
    const id = await stem.enqueue('echo', {});
    expect(log.filter((l) => l.includes('onEnqueue'))).toEqual(['outer.onEnqueue:echo', 'inner.onEnqueue:echo', 'inner.onEnqueue-done:echo', 'outer.onEnqueue-done:echo']);
    expect((await stem.waitForTask(id, { timeout: 3_000 })).status?.state).toBe('succeeded');
    expect(seen?.headers['x-tenant']).toBe('acme');
    expect(seen?.meta['app.enqueuedBy']).toBe('api');
  });

  it('a throw rejects that enqueue with an error naming the middleware, and publishes nothing', async () => {
    const { stem, broker, backend } = setup(
      [{ name: 'echo', call: () => 'ok' }],
      [
        {
          name: 'quota',
          onEnqueue: async () => {
            throw new Error('tenant over quota');
          },
        },
      ],
    );
    const rejected = await stem.enqueue('echo', {}, { taskId: 'rejected-1' }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(MiddlewareError);
    expect((rejected as MiddlewareError).middleware).toBe('quota');
    expect((rejected as Error).message).toMatch(/Middleware "quota" rejected the enqueue of task "echo" on queue "default" in onEnqueue: tenant over quota/);
    expect(await broker.pendingCount('default')).toBe(0);
    expect(await backend.get('rejected-1')).toBeNull();
  });

  it('lets errors of the publish itself through unchanged', async () => {
    const { stem, broker } = setup([{ name: 'echo', call: () => 'ok' }], [recorder([], 'passthrough')]);
    broker.publish = async () => {
      throw Object.assign(new Error('broker refused'), { code: 'EREFUSED' });
    };
    await expect(stem.enqueue('echo', {})).rejects.toBeInstanceOf(PublishError);
  });

  it('in enqueueMany, runs for every call, publishes in one batch, and a rejection of one publishes none', async () => {
    const log: string[] = [];
    const { stem, broker, worker } = setup([{ name: 'echo', call: (ctx) => ctx.headers['x-batch'] }], [recorder(log, 'rec'), pickOut]);
    const ids = await stem.enqueueMany([{ name: 'echo' }, { name: 'echo' }]);
    expect(log.filter((l) => l === 'rec.onEnqueue:echo')).toHaveLength(2);
    await expect(stem.enqueueMany([{ name: 'echo' }, { name: 'echo', options: { meta: { 'app.bad': true } } }])).rejects.toThrow(/Middleware "pick-out" rejected/);
    expect(await broker.pendingCount('default')).toBe(2);
    await worker.start();
    for (const id of ids) expect((await stem.waitForTask(id, { timeout: 3_000 })).value).toBe('yes');
  });
});

describe('middleware in enqueueManySettled', () => {
  it('a rejection of one call rejects only that call; the others are published together and run', async () => {
    const { stem, broker, worker } = setup([{ name: 'echo', call: (ctx) => ctx.headers['x-batch'] }], [pickOut]);
    const outcomes = await stem.enqueueManySettled([{ name: 'echo' }, { name: 'echo', options: { meta: { 'app.bad': true } } }, { name: 'echo' }]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const failed = outcomes[1] as { ok: false; error: Error };
    expect(failed.error).toBeInstanceOf(MiddlewareError);
    expect(failed.error.message).toMatch(/Middleware "pick-out" rejected the enqueue of task "echo" .*bad call/);
    expect(await broker.pendingCount('default')).toBe(2);
    await worker.start();
    for (const o of [outcomes[0]!, outcomes[2]!]) expect((await stem.waitForTask((o as { id: string }).id, { timeout: 3_000 })).value).toBe('yes');
  });

  it('a middleware that throws after its next() published the call reports that call enqueued, since it runs', async () => {
    const lateThrow: StemMiddleware = {
      name: 'late-throw',
      onEnqueue: async (draft, next) => {
        const id = await next();
        if ((draft.meta['app.late'] as boolean | undefined) === true) throw new Error('audit log unreachable');
        return id;
      },
    };
    const { stem, broker, worker } = setup([{ name: 'echo', call: () => 'ran' }], [lateThrow]);
    const outcomes = await stem.enqueueManySettled([{ name: 'echo' }, { name: 'echo', options: { meta: { 'app.late': true } } }]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(await broker.pendingCount('default')).toBe(2);
    await worker.start();
    for (const o of outcomes) expect((await stem.waitForTask((o as { id: string }).id, { timeout: 3_000 })).value).toBe('ran');
  });
});

describe('middleware on the worker (onConsume, onExecute, onError)', () => {
  it('runs onConsume in order, nests onExecute with the first outermost, and calls onError before the retry decision', async () => {
    const log: string[] = [];
    let calls = 0;
    const statesAtOnError: string[] = [];
    let read: (id: string) => Promise<string | undefined> = async () => undefined;
    const probe: StemMiddleware = { name: 'probe', onError: async (run) => void statesAtOnError.push((await read(run.envelope.id)) ?? 'none') };
    const { stem, worker, backend } = setup(
      [
        {
          name: 'flaky',
          options: { maxRetries: 1, retryPolicy: fastRetry },
          call: () => {
            if (calls++ === 0) throw new Error('first try fails');
            return 'ok';
          },
        },
      ],
      [recorder(log, 'a'), recorder(log, 'b'), probe],
    );
    read = async (id) => (await backend.get(id))?.state;
    worker.signals.on('task-prerun', () => void log.push('signal:prerun'));
    await worker.start();
    const id = await stem.enqueue('flaky', {});
    expect((await stem.waitForTask(id, { timeout: 3_000 })).status?.state).toBe('succeeded');
    const worked = log.filter((l) => !l.includes('onEnqueue'));
    expect(worked).toEqual([
      'a.onConsume:flaky#0',
      'b.onConsume:flaky#0',
      'signal:prerun',
      'a.onExecute:flaky#0',
      'b.onExecute:flaky#0',
      'b.onExecute-done:flaky#0',
      'a.onExecute-done:flaky#0',
      'a.onError:flaky#0:first try fails',
      'b.onError:flaky#0:first try fails',
      'a.onConsume:flaky#1',
      'b.onConsume:flaky#1',
      'signal:prerun',
      'a.onExecute:flaky#1',
      'b.onExecute:flaky#1',
      'b.onExecute-done:flaky#1',
      'a.onExecute-done:flaky#1',
    ]);
    expect(statesAtOnError).toEqual(['running']);
  });

  it('a throw in onExecute fails that attempt under the retry rules, names the middleware, and the worker goes on', async () => {
    let throws = 2;
    const guard: StemMiddleware = {
      name: 'guard',
      onExecute: async (run, next) => {
        if (run.envelope.name === 'guarded' && throws-- > 0) throw new Error('not now');
        return next();
      },
    };
    const { stem, worker, backend } = setup(
      [
        { name: 'guarded', options: { maxRetries: 1, retryPolicy: fastRetry }, call: () => 'ran' },
        { name: 'other', call: () => 'fine' },
      ],
      [guard],
    );
    const retried: string[] = [];
    worker.signals.on('task-retry', ({ error }) => void retried.push(error.message));
    await worker.start();
    const guarded = await stem.enqueue('guarded', {});
    const failed = await stem.waitForTask(guarded, { timeout: 3_000 });
    expect(failed.status?.state).toBe('failed');
    expect(retried).toEqual([expect.stringContaining('Middleware "guard" failed the attempt of task "guarded"')]);
    const status = await backend.get(guarded);
    expect(status?.error).toMatchObject({ type: 'MiddlewareError', message: expect.stringContaining('in onExecute: not now') });
    expect(status?.attempt).toBe(1);
    const other = await stem.enqueue('other', {});
    expect((await stem.waitForTask(other, { timeout: 3_000 })).value).toBe('fine');
  });

  it('keeps a Stem error a middleware throws as is, so UnrecoverableError still means no retry', async () => {
    const { stem, worker, broker } = setup(
      [{ name: 'task', options: { maxRetries: 3, retryPolicy: fastRetry }, call: () => 'ran' }],
      [
        {
          name: 'stop',
          onConsume: () => {
            throw new UnrecoverableError('blocked for good');
          },
        },
      ],
    );
    await worker.start();
    const id = await stem.enqueue('task', {});
    const result = await stem.waitForTask(id, { timeout: 3_000 });
    expect(result.status?.state).toBe('failed');
    expect(result.status?.error).toMatchObject({ type: 'UnrecoverableError', message: 'blocked for good' });
    expect((await broker.listDeadLetters('default')).items.map((d) => d.reason)).toEqual(['unrecoverable']);
  });

  it('a throw in onConsume fails the attempt (retried) without running the handler', async () => {
    let ran = 0;
    let refuse = true;
    const { stem, worker } = setup(
      [
        {
          name: 'task',
          options: { maxRetries: 1, retryPolicy: fastRetry },
          call: () => ++ran,
        },
      ],
      [
        {
          name: 'gate',
          onConsume: () => {
            if (refuse) {
              refuse = false;
              throw new Error('closed');
            }
          },
        },
      ],
    );
    const retried = worker.signals.next('task-retry');
    await worker.start();
    const id = await stem.enqueue('task', {});
    expect((await retried).error.message).toMatch(/Middleware "gate" failed the attempt of task "task" on queue "default" in onConsume: closed/);
    expect((await stem.waitForTask(id, { timeout: 3_000 })).value).toBe(1);
  });

  it('a throw in onError is reported as worker-error and the attempt keeps its own error', async () => {
    const { stem, worker } = setup(
      [{ name: 'broken', call: () => Promise.reject(new Error('handler broke')) }],
      [
        {
          name: 'noisy',
          onError: () => {
            throw new Error('alerting is down');
          },
        },
      ],
    );
    const reported = worker.signals.next('worker-error');
    await worker.start();
    const id = await stem.enqueue('broken', {});
    const result = await stem.waitForTask(id, { timeout: 3_000 });
    expect(result.status?.error?.message).toBe('handler broke');
    expect(((await reported).error as Error).message).toBe('alerting is down');
  });

  it('meta an onExecute writes to run.statusMeta is stored with the outcome', async () => {
    const timing: StemMiddleware = {
      name: 'timing',
      async onExecute(run, next) {
        const started = performance.now();
        try {
          return await next();
        } finally {
          run.statusMeta['app.durationMs'] = performance.now() - started;
        }
      },
    };
    const { stem, worker, backend } = setup(
      [
        { name: 'slow', call: () => new Promise((resolve) => setTimeout(() => resolve('done'), 30)) },
        { name: 'fails', call: () => Promise.reject(new Error('no')) },
      ],
      [timing],
    );
    await worker.start();
    const slow = await stem.enqueue('slow', {});
    const fails = await stem.enqueue('fails', {});
    await stem.waitForTask(slow, { timeout: 3_000 });
    await stem.waitForTask(fails, { timeout: 3_000 });
    expect((await backend.get(slow))?.meta['app.durationMs']).toBeGreaterThanOrEqual(25);
    expect((await backend.get(fails))?.meta['app.durationMs']).toEqual(expect.any(Number));
  });
});
