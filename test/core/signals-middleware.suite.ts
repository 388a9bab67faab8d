import { afterEach, expect, it } from 'vitest';
import type { Broker } from '../../lib/core/contracts/broker.js';
import type { ResultBackend } from '../../lib/core/contracts/result-backend.js';
import { SimpleTaskRegistry, Stem, type StemMiddleware, type StemSignalName, type StemSignalsSetting, uuidv7, Worker } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';

/** The stores one run of the suite uses; `close` releases them. */
export interface SignalsMiddlewareFixture {
  readonly broker: Broker;
  readonly backend: ResultBackend;
  close(): Promise<void>;
}

/** A middleware that tags every enqueue with a header and stores the handler's run time in the status meta. */
const tagAndTime: StemMiddleware = {
  name: 'tag-and-time',
  onEnqueue(draft, next) {
    draft.headers['x-tag'] = `tag-${draft.envelope.name}`;
    return next();
  },
  async onExecute(run, next) {
    const started = performance.now();
    try {
      return await next();
    } finally {
      run.statusMeta['app.durationMs'] = Math.round(performance.now() - started);
    }
  },
};

const TASK_SIGNALS: readonly StemSignalName[] = [
  'before-task-publish',
  'after-task-publish',
  'task-received',
  'task-prerun',
  'task-postrun',
  'task-retry',
  'task-succeeded',
  'task-failed',
  'task-dead-lettered',
];

/**
 * A real producer and worker on one adapter, with middleware and signals: every task passes the
 * signals in order, the middleware's header reaches the handler and its timing the stored status.
 */
export function runSignalsMiddlewareTests(open: () => Promise<SignalsMiddlewareFixture>): void {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function start(signals?: StemSignalsSetting) {
    const fixture = await open();
    closers.push(() => fixture.close());
    const queue = uniqueName('sig');
    let flakyCalls = 0;
    const registry = new SimpleTaskRegistry([
      { name: 'sig.ok', options: { queue }, call: async (ctx) => new Promise((resolve) => setTimeout(() => resolve(ctx.headers['x-tag']), 40)) },
      {
        name: 'sig.flaky',
        options: { queue, maxRetries: 1, retryPolicy: { backoff: 10, jitter: false } },
        call: () => {
          if (flakyCalls++ === 0) throw new Error('flaky once');
          return 'second time';
        },
      },
      { name: 'sig.doomed', options: { queue }, call: () => Promise.reject(new Error('always broken')) },
    ]);
    const stem = new Stem({ broker: fixture.broker, backend: fixture.backend, registry, middleware: [tagAndTime], ...(signals !== undefined ? { signals } : {}) });
    const log: string[] = [];
    for (const name of TASK_SIGNALS) {
      stem.signals.on(name, (p) => {
        const env = (p as { envelope: { id: string; attempt: number } }).envelope;
        const state = name === 'task-postrun' ? `:${(p as { state: string }).state}` : '';
        log.push(`${env.id} ${name}${state}#${env.attempt}`);
      });
    }
    const lifecycle: string[] = [];
    for (const name of ['worker-init', 'worker-ready', 'worker-stopping', 'worker-shutdown'] as const) stem.signals.on(name, () => void lifecycle.push(name));
    const worker = new Worker({ broker: fixture.broker, backend: fixture.backend, registry, producer: stem, middleware: [tagAndTime], queues: [queue], concurrency: 4 });
    closers.push(() => worker.close({ mode: 'hard' }));
    const settled = (id: string, state: string) => stem.signals.next('task-postrun', (p) => p.envelope.id === id && p.state === state);
    return { stem, worker, log, lifecycle, settled, backend: fixture.backend };
  }

  it('passes each task through the signals in order, with the middleware header on the handler and its timing on the status', async () => {
    const { stem, worker, log, lifecycle, settled, backend } = await start();
    const ids = { ok: uuidv7(), flaky: uuidv7(), doomed: uuidv7() };
    const done = [settled(ids.ok, 'succeeded'), settled(ids.flaky, 'succeeded'), settled(ids.doomed, 'failed')];
    await worker.start();
    await stem.enqueue('sig.ok', {}, { taskId: ids.ok });
    await stem.enqueue('sig.flaky', {}, { taskId: ids.flaky });
    await stem.enqueue('sig.doomed', {}, { taskId: ids.doomed });
    await Promise.all(done);
    await worker.close();

    // NOTE: `after-task-publish` comes after the broker took the task, which an in-memory worker
    // may already be running: it is checked apart from the worker's signals.
    const all = (id: string) => log.filter((line) => line.startsWith(`${id} `)).map((line) => line.slice(id.length + 1));
    const of = (id: string) => all(id).filter((line) => line !== 'after-task-publish#0');
    for (const id of Object.values(ids)) expect(all(id).filter((line) => line === 'after-task-publish#0')).toHaveLength(1);
    expect(of(ids.ok)).toEqual(['before-task-publish#0', 'task-received#0', 'task-prerun#0', 'task-succeeded#0', 'task-postrun:succeeded#0']);
    expect(of(ids.flaky)).toEqual([
      'before-task-publish#0',
      'task-received#0',
      'task-prerun#0',
      'task-retry#0',
      'task-postrun:retried#0',
      'task-received#1',
      'task-prerun#1',
      'task-succeeded#1',
      'task-postrun:succeeded#1',
    ]);
    expect(of(ids.doomed)).toEqual(['before-task-publish#0', 'task-received#0', 'task-prerun#0', 'task-failed#0', 'task-dead-lettered#0', 'task-postrun:failed#0']);
    expect(lifecycle).toEqual(['worker-init', 'worker-ready', 'worker-stopping', 'worker-shutdown']);

    const ok = await stem.waitForTask<string>(ids.ok, { timeout: 5_000 });
    expect(ok.value).toBe('tag-sig.ok');
    expect((await backend.get(ids.ok))?.meta['app.durationMs']).toBeGreaterThanOrEqual(35);
    expect((await backend.get(ids.doomed))?.meta['app.durationMs']).toEqual(expect.any(Number));
  });

  it('emits none of the signals the configuration turns off', async () => {
    const { stem, worker, log, settled } = await start({ disabled: ['task-received', 'before-task-publish'] });
    const id = uuidv7();
    const done = settled(id, 'succeeded');
    await worker.start();
    await stem.enqueue('sig.ok', {}, { taskId: id });
    await done;
    const seen = log.map((line) => line.slice(id.length + 1));
    expect(seen.filter((line) => line !== 'after-task-publish#0')).toEqual(['task-prerun#0', 'task-succeeded#0', 'task-postrun:succeeded#0']);
    expect(seen).toContain('after-task-publish#0');
  });
}
