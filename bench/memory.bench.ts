import { InMemoryBroker, InMemoryResultBackend } from '../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 200_000);
const CONCURRENCY = 50;
/** `BENCH_TRACING=off` measures with tracing turned off (the default is on, with no SDK registered: no-op spans). */
const TRACING = process.env.BENCH_TRACING !== 'off';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * In-memory throughput: enqueue only, draining a backlog, and enqueue + process at once, with
 * no-op tasks whose results are kept.
 */
export async function run(): Promise<void> {
  await scenario(5_000, false); // JIT warm-up
  const r = await scenario(TASKS, true);
  console.log(`in-memory enqueue only (enqueueMany, batches of 1000): ${fmt(r.enqueueRate)} tasks/s`);
  console.log(`in-memory drain of a ${fmt(TASKS)}-task backlog at concurrency ${CONCURRENCY}: ${fmt(r.drainRate)} tasks/s`);
  console.log(`in-memory end to end (enqueue while the worker runs) at concurrency ${CONCURRENCY}: ${fmt(r.e2eRate)} tasks/s`);
  console.log(`target 20,000 tasks/s end to end: ${(r.e2eRate / 20_000).toFixed(2)}x`);
}

async function scenario(count: number, report: boolean) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry([{ name: 'noop', call: (_ctx, args: { i: number }) => args.i }]);
  const stem = new Stem({ broker, backend, registry, tracing: TRACING });
  const log = (msg: string) => report && console.log(`  ... ${msg}`);

  let t = performance.now();
  await enqueue(stem, count);
  const enqueueRate = count / ((performance.now() - t) / 1000);
  log(`enqueued ${fmt(count)}`);

  let worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY, tracing: TRACING });
  t = performance.now();
  await processAll(worker, count, () => worker.start(), log);
  const drainRate = count / ((performance.now() - t) / 1000);
  await worker.close();
  log('drained backlog');

  worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY, tracing: TRACING });
  t = performance.now();
  await processAll(
    worker,
    count,
    async () => {
      await worker.start();
      await enqueue(stem, count);
    },
    log,
  );
  const e2eRate = count / ((performance.now() - t) / 1000);
  await worker.close();
  await broker.close();
  return { enqueueRate, drainRate, e2eRate };
}

async function enqueue(stem: Stem, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const size = Math.min(1_000, count - i);
    await stem.enqueueMany(Array.from({ length: size }, (_, j) => ({ name: 'noop', args: { i: i + j }, options: { queue: 'bench' } })));
  }
}

async function processAll(worker: Worker, count: number, start: () => Promise<void>, log: (m: string) => void): Promise<void> {
  let done = 0;
  const all = new Promise<void>((resolve) => {
    worker.events.on('task:succeeded', () => {
      if (++done === count) resolve();
      else if (done % 100_000 === 0) log(`${fmt(done)}/${fmt(count)} processed`);
    });
  });
  await start();
  await all;
}
