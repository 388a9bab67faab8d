import { randomBytes } from 'node:crypto';
import { Queue, Worker as BullWorker } from 'bullmq';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';

const URL_ = process.env.BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TASKS = Number(process.env.BENCH_TASKS ?? 30_000);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 3_000);
const SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const CONCURRENCY = 50;
const BATCH = 1_000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const progress = (msg: string) => console.log(`  ... ${msg}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rate = (count: number, started: number) => count / ((performance.now() - started) / 1000);

interface Side {
  readonly name: string;
  enqueueBulk(count: number): Promise<void>;
  enqueueOne(i: number): Promise<void>;
  /** Starts a worker at CONCURRENCY that calls `onStart(i)` when task i starts; resolves once running. */
  startWorker(onDone: () => void, onStart: (i: number) => void): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Metric = 'bulk' | 'single' | 'processing' | 'p50' | 'p99';
const METRICS: { key: Metric; label: string; unit: string; higherIsBetter: boolean }[] = [
  { key: 'bulk', label: 'enqueue, bulk (batches of 1000)', unit: '/s', higherIsBetter: true },
  { key: 'single', label: 'enqueue, one by one', unit: '/s', higherIsBetter: true },
  { key: 'processing', label: 'processing at concurrency 50', unit: '/s', higherIsBetter: true },
  { key: 'p50', label: 'enqueue → start latency p50', unit: 'ms', higherIsBetter: false },
  { key: 'p99', label: 'enqueue → start latency p99', unit: 'ms', higherIsBetter: false },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Stem on Redis vs BullMQ on the same Redis, in one process run: enqueue throughput (bulk and
 * one by one), processing of a backlog at concurrency 50 with results kept, and enqueue → start
 * latency on an idle queue. The two sides alternate over several rounds (order swapped each
 * round) and the medians are compared, so background load hits both alike. Keys live under fresh
 * prefixes and are deleted afterwards.
 */
export async function run(): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  console.log(`Redis ${URL_}: ${ROUNDS} rounds of ${fmt(TASKS)} no-op tasks per side, concurrency ${CONCURRENCY}, results kept`);
  const stem = await stemSide(`stem-bench-${tag}`);
  const bull = await bullSide(`bull-bench-${tag}`);
  const samples = new Map<Side, Record<Metric, number[]>>([stem, bull].map((side) => [side, { bulk: [], single: [], processing: [], p50: [], p99: [] }]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of round % 2 ? [stem, bull] : [bull, stem]) {
        console.log(`\n[round ${round}/${ROUNDS}: ${side.name}]`);
        const r = await measure(side);
        for (const m of METRICS) samples.get(side)![m.key].push(r[m.key]);
      }
    }
    console.log('\nResult (medians; Stem vs BullMQ on the same Redis):');
    for (const m of METRICS) {
      const a = median(samples.get(stem)![m.key]);
      const b = median(samples.get(bull)![m.key]);
      const ratio = m.higherIsBetter ? a / b : b / a;
      const shown = m.unit === 'ms' ? (n: number) => n.toFixed(2) : fmt;
      console.log(
        `  ${m.label.padEnd(34)} stem ${shown(a).padStart(9)} ${m.unit}  bullmq ${shown(b).padStart(9)} ${m.unit}  → stem ${ratio.toFixed(2)}x ${ratio >= 1 ? 'better' : 'worse'}`,
      );
    }
  } finally {
    await stem.close();
    await bull.close();
    await cleanup(`stem-bench-${tag}`, `bull-bench-${tag}`);
  }
}

async function measure(side: Side): Promise<Record<Metric, number>> {
  let t = performance.now();
  await side.enqueueBulk(TASKS);
  const bulk = rate(TASKS, t);
  progress(`bulk enqueue of ${fmt(TASKS)}: ${fmt(bulk)}/s`);

  let done = 0;
  let target = TASKS;
  let finished: (() => void) | undefined;
  let started: ((at: number) => void) | undefined;
  await side.startWorker(
    () => {
      if (++done === target) finished?.();
      else if (done % 10_000 === 0) progress(`${fmt(done)}/${fmt(target)} processed`);
    },
    () => started?.(performance.now()),
  );
  t = performance.now();
  await new Promise<void>((resolve) => {
    finished = resolve;
    if (done >= target) resolve();
  });
  const processing = rate(TASKS, t);
  progress(`processed the backlog: ${fmt(processing)}/s`);

  done = 0;
  target = SINGLE;
  t = performance.now();
  const oneByOne = new Promise<void>((resolve) => (finished = resolve));
  for (let i = 0; i < SINGLE; i++) await side.enqueueOne(-1);
  const single = rate(SINGLE, t);
  progress(`one-by-one enqueue of ${fmt(SINGLE)} (awaiting each): ${fmt(single)}/s`);
  await oneByOne;

  const latencies: number[] = [];
  target = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(2);
    const start = new Promise<number>((resolve) => (started = resolve));
    const sent = performance.now();
    await side.enqueueOne(i);
    latencies.push((await start) - sent);
  }
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  progress(`enqueue → start on an idle queue (${SAMPLES} samples): p50 ${p(0.5).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms`);
  await side.stopWorker();
  return { bulk, single, processing, p50: p(0.5), p99: p(0.99) };
}

async function stemSide(prefix: string): Promise<Side> {
  const broker = await RedisStreamsBroker.connect(URL_, { prefix });
  const backend = await RedisResultBackend.connect(URL_, { prefix });
  let onStart: (i: number) => void = () => {};
  const registry = new SimpleTaskRegistry([
    {
      name: 'noop',
      call: (_ctx, args: { i: number }) => {
        if (args.i >= 0) onStart(args.i);
        return args.i;
      },
    },
  ]);
  const stem = new Stem({ broker, backend, registry });
  let worker: Worker | undefined;
  return {
    name: 'stem (RedisStreamsBroker + RedisResultBackend)',
    async enqueueBulk(count) {
      for (let i = 0; i < count; i += BATCH) {
        await stem.enqueueMany(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', args: { i: -1 - i - j }, options: { queue: 'bench' } })));
      }
    },
    async enqueueOne(i) {
      await stem.enqueue('noop', { i }, { queue: 'bench' });
    },
    async startWorker(onDone, start) {
      onStart = start;
      worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY });
      worker.events.on('task:succeeded', onDone);
      await worker.start();
    },
    async stopWorker() {
      await worker?.close();
    },
    async close() {
      await broker.close();
      await backend.close();
    },
  };
}

async function bullSide(prefix: string): Promise<Side> {
  const { hostname, port } = new URL(URL_);
  const connection = { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection, prefix });
  await queue.waitUntilReady();
  let worker: BullWorker | undefined;
  return {
    name: 'bullmq',
    async enqueueBulk(count) {
      for (let i = 0; i < count; i += BATCH) {
        await queue.addBulk(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', data: { i: -1 - i - j } })));
      }
    },
    async enqueueOne(i) {
      await queue.add('noop', { i });
    },
    async startWorker(onDone, onStart) {
      worker = new BullWorker(
        'bench',
        async (job) => {
          const i = (job.data as { i: number }).i;
          if (i >= 0) onStart(i);
          return i;
        },
        { connection, prefix, concurrency: CONCURRENCY },
      );
      worker.on('completed', onDone);
      await worker.waitUntilReady();
    },
    async stopWorker() {
      await worker?.close();
    },
    async close() {
      await queue.close();
    },
  };
}

async function cleanup(...prefixes: string[]): Promise<void> {
  for (const prefix of prefixes) await deleteKeys(URL_, prefix);
}
