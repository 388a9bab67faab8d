import { InlineExecutor, SimpleTaskRegistry, Stem, type TaskExecutor, Worker, type WorkerExtension } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry();
const logger = { log: (line: string) => console.log(line) };

// #region extension
// Times every attempt and logs how it ended.
const started = new Map<string, number>();
const timing: WorkerExtension = {
  name: 'timing',
  async wrapRun(run, next) {
    // around the handler, inside its time limits
    started.set(`${run.envelope.id}#${run.envelope.attempt}`, performance.now());
    return next();
  },
  onSettled(outcome) {
    // after the status is written, before the ack
    const key = `${outcome.envelope.id}#${outcome.envelope.attempt}`;
    const ms = performance.now() - (started.get(key) ?? performance.now());
    started.delete(key);
    logger.log(`${outcome.envelope.name} #${outcome.envelope.attempt} ${outcome.state} in ${Math.round(ms)} ms`);
  },
};

// Admission: hold back a paused tenant's tasks for a minute, without using an attempt.
const pausedTenants = new Set(['acme']);
const tenants: WorkerExtension = {
  name: 'tenants',
  beforeRun: (run) => (pausedTenants.has(run.envelope.headers['x-tenant'] ?? '') ? { action: 'delay', delayMs: 60_000, reason: 'tenant paused' } : undefined),
};

// An executor: tasks with `runIn: 'serial'` run one at a time, the others inline as usual.
const inline = new InlineExecutor();
let tail: Promise<unknown> = Promise.resolve();
const serial: TaskExecutor = {
  run(run) {
    const result = tail.then(() => inline.run(run)); // InlineExecutor applies the time limits
    tail = result.catch(() => undefined);
    return result;
  },
};

registry.register({
  name: 'report.render',
  options: { runIn: 'serial', maxRetries: 1, retryPolicy: { backoff: 50 } },
  call: async (ctx) => {
    if (ctx.attempt === 0) throw new Error('renderer busy'); // fails once, then retried
    return 'rendered';
  },
});
const worker = new Worker({ broker, backend, registry, queues: ['default'], extensions: [timing, tenants], executors: { serial } });
// #endregion

await worker.start();
const delayed = new Promise<void>((resolve) =>
  worker.signals.on('task-delayed', ({ envelope, delayMs, reason }) => {
    logger.log(`${envelope.headers['x-tenant']} delayed ${delayMs} ms: ${reason}`);
    resolve();
  }),
);
const stem = new Stem({ broker, backend, registry });
const id = await stem.enqueue('report.render', {});
console.log((await stem.waitForTask<string>(id, { timeout: 5_000 })).value);
await stem.enqueue('report.render', {}, { headers: { 'x-tenant': 'acme' } });
await delayed;
await worker.close();
