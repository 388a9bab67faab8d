import { randomBytes } from 'node:crypto';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { type ScalingSide, scalingTable } from './scaling.js';

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
  /** Drops every queued task. */
  purge(): Promise<void>;
  close(): Promise<void>;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** `BENCH_SCALING=0` skips the scaling table. */
const SCALING = process.env.BENCH_SCALING !== '0';
/** Queued tasks whose memory is measured per side. */
const MEMORY_TASKS = 10_000;

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
    const ceilings: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of round % 2 ? [stem, bull] : [bull, stem]) {
        console.log(`\n[round ${round}/${ROUNDS}: ${side.name}]`);
        const r = await measure(side);
        for (const m of METRICS) samples.get(side)![m.key].push(r[m.key]);
      }
      // NOTE: the ceiling is measured every round, next to both sides, so each round's share of it
      // compares figures taken under the same load.
      ceilings.push(await rawCeiling(`raw-bench-${tag}:${round}`));
    }
    const ceiling = median(ceilings);
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
    console.log('Medians of the per-round ratios (both sides of a round run back to back):');
    for (const m of METRICS) {
      const ratios = samples.get(stem)![m.key].map((a, i) => {
        const b = samples.get(bull)![m.key][i]!;
        return m.higherIsBetter ? a / b : b / a;
      });
      console.log(`  ${m.label.padEnd(34)} stem ${median(ratios).toFixed(2)}x  (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
    }
    const share = (side: Side) => median(samples.get(side)!.processing.map((v, i) => v / ceilings[i]!));
    console.log(
      `  raw ioredis ceiling (XREADGROUP 200 + pipelined XACK + SET), measured each round: median ${fmt(ceiling)}/s → stem processing at ${(share(stem) * 100).toFixed(0)}% of its round's ceiling, bullmq at ${(share(bull) * 100).toFixed(0)}% (medians over rounds)`,
    );
    await memoryPerTask(stem, bull, `stem-bench-${tag}`, `bull-bench-${tag}`);
  } finally {
    await stem.close();
    await bull.close();
    await cleanup(`stem-bench-${tag}`, `bull-bench-${tag}`, `raw-bench-${tag}`);
  }
  if (SCALING) {
    try {
      await scalingTable(scalingSides(tag), (processes, concurrency) => (concurrency === 1 ? 2_000 : processes * 10_000));
    } finally {
      await cleanup(`stem-scale-${tag}`, `bull-scale-${tag}`);
    }
  }
}

/**
 * The raw ioredis ceiling on this machine: one consumer reads a stream 200 entries at a time with
 * XREADGROUP and sends, pipelined, an XACK and a result SET per entry; tasks per second.
 */
async function rawCeiling(prefix: string): Promise<number> {
  const redis = new Redis(URL_);
  const stream = `${prefix}:stream`;
  try {
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    for (let i = 0; i < TASKS; i += BATCH) {
      const fill = redis.pipeline();
      for (let j = i; j < Math.min(TASKS, i + BATCH); j++) fill.xadd(stream, '*', 'e', JSON.stringify({ id: `t${j}`, name: 'noop', args: { i: j } }));
      await fill.exec();
    }
    const t = performance.now();
    let done = 0;
    while (done < TASKS) {
      const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 200, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) break;
      const settle = redis.pipeline();
      for (const [id, fields] of entries) {
        const task = JSON.parse(fields[1]!) as { id: string; args: { i: number } };
        settle.xack(stream, 'g', id);
        settle.set(`${prefix}:result:${task.id}`, JSON.stringify({ state: 'succeeded', result: task.args.i }), 'PX', 86_400_000);
      }
      await settle.exec();
      done += entries.length;
    }
    const r = rate(done, t);
    progress(`raw ioredis ceiling: ${fmt(r)}/s`);
    return r;
  } finally {
    redis.disconnect();
  }
}

/** Bytes of Redis memory per queued task (MEMORY USAGE summed over each side's keys, results on). */
async function memoryPerTask(stem: Side, bull: Side, stemPrefix: string, bullPrefix: string): Promise<void> {
  const redis = new Redis(URL_);
  try {
    const usage = async (prefix: string) => {
      let total = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        const sizes = redis.pipeline();
        for (const key of keys) sizes.memory('USAGE', key, 'SAMPLES', 0);
        for (const [, size] of (await sizes.exec()) ?? []) total += Number(size ?? 0);
      } while (cursor !== '0');
      return total;
    };
    const perTask = async (side: Side, prefix: string) => {
      const before = await usage(prefix);
      await side.enqueueBulk(MEMORY_TASKS);
      const bytes = ((await usage(prefix)) - before) / MEMORY_TASKS;
      await side.purge();
      return bytes;
    };
    const a = await perTask(stem, stemPrefix);
    const b = await perTask(bull, bullPrefix);
    console.log(
      `  Redis memory per queued task (MEMORY USAGE, status/job data included): stem ${fmt(a)} B, bullmq ${fmt(b)} B → stem ${(b / a).toFixed(2)}x ${a <= b ? 'smaller' : 'larger'}`,
    );
  } finally {
    redis.disconnect();
  }
}

function scalingSides(tag: string): ScalingSide[] {
  const stemPrefix = `stem-scale-${tag}`;
  const bullPrefix = `bull-scale-${tag}`;
  let stem: Stem | undefined;
  const { hostname, port } = new URL(URL_);
  const connection = { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
  return [
    {
      name: 'stem',
      kind: 'stem-redis',
      url: URL_,
      namespace: stemPrefix,
      async fill(queue, count) {
        const broker = await RedisStreamsBroker.connect(URL_, { prefix: stemPrefix });
        const backend = await RedisResultBackend.connect(URL_, { prefix: stemPrefix });
        stem = new Stem({ broker, backend, registry: new SimpleTaskRegistry([{ name: 'noop', call: () => 0 }]) });
        for (let i = 0; i < count; i += BATCH) {
          await stem.enqueueMany(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', args: { i: i + j }, options: { queue } })));
        }
        await broker.close();
        await backend.close();
      },
    },
    {
      name: 'bullmq',
      kind: 'bullmq',
      url: URL_,
      namespace: bullPrefix,
      async fill(queue, count) {
        const q = new Queue(queue, { connection, prefix: bullPrefix });
        for (let i = 0; i < count; i += BATCH) await q.addBulk(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })));
        await q.close();
      },
    },
  ];
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
      worker.signals.on('task-succeeded', () => onDone());
      await worker.start();
    },
    async stopWorker() {
      await worker?.close();
    },
    async purge() {
      await broker.purge('bench');
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
    async purge() {
      await queue.obliterate({ force: true });
    },
    async close() {
      await queue.close();
    },
  };
}

async function cleanup(...prefixes: string[]): Promise<void> {
  for (const prefix of prefixes) await deleteKeys(URL_, prefix);
}
