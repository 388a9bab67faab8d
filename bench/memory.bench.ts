import { InMemoryBroker, InMemoryResultBackend } from '../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 200_000);
const CONCURRENCY = 50;
/**
 * `BENCH_TRACING=off` measures with tracing turned off (the default is on, with no SDK registered);
 * `BENCH_TRACING=compare` alternates rounds with tracing on and off in this one process and prints
 * the medians and their ratio.
 */
const TRACING = process.env.BENCH_TRACING !== 'off';
const ROUNDS = 5;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * In-memory throughput: enqueue only, draining a backlog, and enqueue + process at once, with
 * no-op tasks whose results are kept.
 */
export async function run(): Promise<void> {
  await scenario(5_000, false); // JIT warm-up
  if (process.env.BENCH_TRACING === 'compare') return compareTracing();
  const r = await scenario(TASKS, true);
  console.log(`in-memory enqueue only (enqueueMany, batches of 1000): ${fmt(r.enqueueRate)} tasks/s`);
  console.log(`in-memory drain of a ${fmt(TASKS)}-task backlog at concurrency ${CONCURRENCY}: ${fmt(r.drainRate)} tasks/s`);
  console.log(`in-memory end to end (enqueue while the worker runs) at concurrency ${CONCURRENCY}: ${fmt(r.e2eRate)} tasks/s, ${r.e2eCpuUs.toFixed(1)} µs CPU per task`);
  console.log(`target 50,000 tasks/s end to end: ${(r.e2eRate / 50_000).toFixed(2)}x`);
}

/** Rounds with tracing on and off, alternating, so a load change on the machine hits both alike. */
async function compareTracing(): Promise<void> {
  const count = Math.round(TASKS / 4);
  const rates: Record<'on' | 'off', { enqueueRate: number; drainRate: number; e2eRate: number }[]> = { on: [], off: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) rates[mode].push(await scenario(count, false, mode === 'on'));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const key of ['enqueueRate', 'drainRate', 'e2eRate'] as const) {
    const on = median(rates.on.map((r) => r[key]));
    const off = median(rates.off.map((r) => r[key]));
    console.log(`${key} (median of ${ROUNDS} rounds of ${fmt(count)}): tracing off ${fmt(off)} tasks/s, on without an SDK ${fmt(on)} tasks/s, ratio ${(on / off).toFixed(3)}`);
  }
}

async function scenario(count: number, report: boolean, tracing: boolean = TRACING) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry([{ name: 'noop', call: (_ctx, args: { i: number }) => args.i }]);
  const stem = new Stem({ broker, backend, registry, tracing });
  const log = (msg: string) => report && console.log(`  ... ${msg}`);

  let t = performance.now();
  await enqueue(stem, count);
  const enqueueRate = count / ((performance.now() - t) / 1000);
  log(`enqueued ${fmt(count)}`);

  let worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY, tracing });
  t = performance.now();
  await processAll(worker, count, () => worker.start(), log);
  const drainRate = count / ((performance.now() - t) / 1000);
  await worker.close();
  log('drained backlog');

  worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY, tracing });
  t = performance.now();
  // NOTE: CPU time (all threads, the collector's included) per task moves far less than the rate
  // when other work shares the machine.
  const cpu = process.cpuUsage();
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
  const used = process.cpuUsage(cpu);
  const e2eCpuUs = (used.user + used.system) / count;
  await worker.close();
  await broker.close();
  return { enqueueRate, drainRate, e2eRate, e2eCpuUs };
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
    worker.signals.on('task-succeeded', () => {
      if (++done === count) resolve();
      else if (done % 100_000 === 0) log(`${fmt(done)}/${fmt(count)} processed`);
    });
  });
  await start();
  await all;
}
