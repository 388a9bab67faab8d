import { type RoutingConfig, SimpleTaskRegistry, Stem, type TaskContext, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

// #region config
const routing: RoutingConfig = {
  defaultQueue: { queue: 'main', fallbacks: ['legacy'] },
  queues: { reports: { priorityRange: [0, 3] } },
  broadcasts: ['cache'],
  routes: [
    { name: 'reports', match: { task: 'reports.*' }, target: 'reports' },
    { match: { headers: { tier: 'vip' } }, target: 'main', priorityOverride: 9 },
    { match: { task: 'cache.flush' }, target: { type: 'broadcast', name: 'cache' } },
  ],
};
// #endregion

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([
  { name: 'reports.daily', call: (ctx: TaskContext) => `${ctx.queue} p${ctx.envelope.priority}` },
  { name: 'cache.flush', call: (ctx: TaskContext) => `flushed on ${ctx.queue}` },
]);
const stem = new Stem({ broker, backend, registry, routing });
// #region workers
const workers = ['node-a', 'node-b'].map((id) => new Worker({ broker, backend, registry, producer: stem, id, broadcasts: ['cache'] }));
for (const worker of workers) await worker.start();
// main (and its fallback legacy): the vip header route sends a cache.flush there.
console.log(workers[0]!.queues.join(' ')); // reports main legacy cache@node-a

const report = await stem.enqueue('reports.daily', {}, { priority: 8 });
console.log((await stem.waitForTask(report, { timeout: 5_000 })).value); // reports p3 (clamped into 0-3)

const flush = await stem.enqueue('cache.flush');
for (const worker of workers) {
  // Each subscribed worker runs its own copy, id `<id>@<worker id>`, from its own queue.
  console.log((await stem.waitForTask(`${flush}@${worker.id}`, { timeout: 5_000 })).value); // flushed on cache@node-a, then cache@node-b
}
// #endregion
for (const worker of workers) await worker.close();
