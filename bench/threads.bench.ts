import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Queue, Worker as BullWorker } from 'bullmq';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { SimpleTaskRegistry, Stem, type TaskHandler, ThreadExecutor, threadTask, Worker } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { cpuTask, hashRounds } from './fixtures/cpu-work.js';

const URL_ = process.env.BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CPU_TASKS = Number(process.env.BENCH_CPU_TASKS ?? 60);
const NOOP_TASKS = Number(process.env.BENCH_NOOP_TASKS ?? 1_000);
const TARGET_MS = 20;
const CONCURRENCY = 2;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const CPU_FILE = new URL('./fixtures/cpu-work.js', import.meta.url).href;
const BULL_PROCESSOR = new URL('./fixtures/bullmq-cpu-processor.js', import.meta.url).pathname;

interface Result {
  readonly perSec: number;
  readonly msPerTask: number;
  readonly loopP99: number;
  readonly loopMax: number;
}

/** A way to run `count` tasks of `rounds` hashes at concurrency 2, timed from the first enqueue to the last completion. */
type Runner = (count: number, rounds: number) => Promise<Result>;

/** Rounds of hashing that take about 20 ms on this machine (median of a few probes). */
function calibrate(): number {
  const probe = 2_000;
  hashRounds(probe);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    hashRounds(probe);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Math.max(1, Math.round((probe * TARGET_MS) / times[2]!));
}

async function timed(count: number, enqueueAll: () => Promise<void>, done: Promise<void>): Promise<Result> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  await enqueueAll();
  await done;
  const ms = performance.now() - started;
  loop.disable();
  return { perSec: count / (ms / 1000), msPerTask: ms / count, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
}

function counter(count: number): { tick(): void; done: Promise<void> } {
  let seen = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    tick: () => {
      if (++seen === count) resolve();
    },
    done,
  };
}

async function stemRunner(prefix: string, runIn: 'thread' | 'inline'): Promise<{ run: Runner; close(): Promise<void> }> {
  const broker = await RedisStreamsBroker.connect(URL_, { prefix });
  const backend = await RedisResultBackend.connect(URL_, { prefix });
  const handler: TaskHandler =
    runIn === 'thread'
      ? threadTask({ name: 'cpu', file: CPU_FILE, export: 'cpuTask', options: { queue: 'cpu' } })
      : { name: 'cpu', options: { queue: 'cpu' }, call: (_ctx, args: { rounds: number }) => cpuTask(args) };
  const registry = new SimpleTaskRegistry([handler]);
  const stem = new Stem({ broker, backend, registry });
  const executors = runIn === 'thread' ? { thread: new ThreadExecutor({ size: CONCURRENCY }) } : undefined;
  const worker = new Worker({ broker, backend, registry, queues: ['cpu'], concurrency: CONCURRENCY, ...(executors ? { executors } : {}) });
  let onDone = () => {};
  worker.signals.on('task-succeeded', () => onDone());
  await worker.start();
  // NOTE: one task first, so the pool's threads are up before timing starts (BullMQ's children are warmed alike).
  const warm = counter(CONCURRENCY);
  onDone = warm.tick;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => stem.enqueue('cpu', { rounds: 1 })));
  await warm.done;
  return {
    run: async (count, rounds) => {
      const c = counter(count);
      onDone = c.tick;
      return timed(count, async () => void (await stem.enqueueMany(Array.from({ length: count }, () => ({ name: 'cpu', args: { rounds } })))), c.done);
    },
    close: async () => {
      await worker.close();
      await broker.close();
      await backend.close();
    },
  };
}

async function bullRunner(prefix: string, mode: 'sandboxed' | 'sandboxed-threads' | 'inline'): Promise<{ run: Runner; close(): Promise<void> }> {
  const { hostname, port } = new URL(URL_);
  const connection = { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('cpu', { connection, prefix });
  await queue.waitUntilReady();
  const processor = mode === 'inline' ? async (job: { data: { rounds: number } }) => cpuTask(job.data) : BULL_PROCESSOR;
  const worker = new BullWorker('cpu', processor, { connection, prefix, concurrency: CONCURRENCY, useWorkerThreads: mode === 'sandboxed-threads' });
  let onDone = () => {};
  worker.on('completed', () => onDone());
  await worker.waitUntilReady();
  const warm = counter(CONCURRENCY);
  onDone = warm.tick;
  await queue.addBulk(Array.from({ length: CONCURRENCY }, () => ({ name: 'cpu', data: { rounds: 1 } })));
  await warm.done;
  return {
    run: async (count, rounds) => {
      const c = counter(count);
      onDone = c.tick;
      return timed(count, async () => void (await queue.addBulk(Array.from({ length: count }, () => ({ name: 'cpu', data: { rounds } })))), c.done);
    },
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Per-task time of no-op tasks through Stem's thread pool and inline on the in-memory broker: the pool's own cost, without Redis. */
async function memoryOverhead(count: number): Promise<{ thread: number; inline: number }> {
  const { InMemoryBroker, InMemoryResultBackend } = await import('../lib/adapters/memory/index.js');
  const once = async (runIn: 'thread' | 'inline') => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const handler: TaskHandler = runIn === 'thread' ? threadTask({ name: 'cpu', file: CPU_FILE, export: 'cpuTask' }) : { name: 'cpu', call: () => null };
    const registry = new SimpleTaskRegistry([handler]);
    const stem = new Stem({ broker, backend, registry });
    const executors = runIn === 'thread' ? { thread: new ThreadExecutor({ size: CONCURRENCY }) } : undefined;
    const worker = new Worker({ broker, backend, registry, concurrency: CONCURRENCY, ...(executors ? { executors } : {}) });
    let c = counter(CONCURRENCY);
    worker.signals.on('task-succeeded', () => c.tick());
    await worker.start();
    await stem.enqueueMany(Array.from({ length: CONCURRENCY }, () => ({ name: 'cpu', args: { rounds: 0 } })));
    await c.done;
    c = counter(count);
    const started = performance.now();
    await stem.enqueueMany(Array.from({ length: count }, () => ({ name: 'cpu', args: { rounds: 0 } })));
    await c.done;
    const ms = (performance.now() - started) / count;
    await worker.close();
    await broker.close();
    return ms;
  };
  const inline: number[] = [];
  const thread: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    inline.push(await once('inline'));
    thread.push(await once('thread'));
  }
  return { thread: median(thread), inline: median(inline) };
}

/**
 * CPU-bound tasks (about 20 ms of SHA-256 each) at concurrency 2 on one Redis: Stem's thread
 * pool, Stem inline, BullMQ sandboxed processors (child processes, and worker threads) and
 * BullMQ inline, in one run, sides alternating over rounds (medians). Reports throughput, the
 * main event loop's p99 delay while the tasks run, and the per-task time of no-op tasks, whose
 * difference to the inline no-op of the same library is the pool's own overhead; plus that
 * overhead for Stem on the in-memory broker, where Redis round trips do not hide it.
 */
export async function run(): Promise<void> {
  const rounds = calibrate();
  const tag = randomBytes(4).toString('hex');
  console.log(
    `Redis ${URL_}: ${CPU_TASKS} CPU tasks of ${rounds} SHA-256 rounds (~${TARGET_MS} ms here) and ${NOOP_TASKS} no-op tasks per side and round, ${ROUNDS} rounds, concurrency ${CONCURRENCY}`,
  );
  const sides: { name: string; prefix: string; make: (prefix: string) => Promise<{ run: Runner; close(): Promise<void> }> }[] = [
    { name: 'stem thread pool', prefix: `stem-thr-${tag}`, make: (p) => stemRunner(p, 'thread') },
    { name: 'stem inline', prefix: `stem-inl-${tag}`, make: (p) => stemRunner(p, 'inline') },
    { name: 'bullmq sandboxed (processes)', prefix: `bull-sbx-${tag}`, make: (p) => bullRunner(p, 'sandboxed') },
    { name: 'bullmq sandboxed (threads)', prefix: `bull-sbt-${tag}`, make: (p) => bullRunner(p, 'sandboxed-threads') },
    { name: 'bullmq inline', prefix: `bull-inl-${tag}`, make: (p) => bullRunner(p, 'inline') },
  ];
  const samples = new Map(sides.map((side) => [side.name, { perSec: [] as number[], loopP99: [] as number[], loopMax: [] as number[], noop: [] as number[] }]));
  const runners = new Map<string, { run: Runner; close(): Promise<void> }>();
  try {
    for (const side of sides) runners.set(side.name, await side.make(side.prefix));
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? sides : [...sides].reverse();
      console.log(`  ... round ${round}/${ROUNDS}`);
      for (const side of order) {
        const runner = runners.get(side.name)!;
        const cpu = await runner.run(CPU_TASKS, rounds);
        const noop = await runner.run(NOOP_TASKS, 0);
        const s = samples.get(side.name)!;
        s.perSec.push(cpu.perSec);
        s.loopP99.push(cpu.loopP99);
        s.loopMax.push(cpu.loopMax);
        s.noop.push(noop.msPerTask);
      }
    }
  } finally {
    for (const runner of runners.values()) await runner.close();
    for (const side of sides) await deleteKeys(URL_, side.prefix);
  }
  console.log(`\n  ${'side'.padEnd(30)} ${'CPU tasks/s'.padStart(11)} ${'loop p99 ms'.padStart(12)} ${'loop max ms'.padStart(12)} ${'no-op ms/task'.padStart(14)}`);
  const row = (name: string) => {
    const s = samples.get(name)!;
    return { perSec: median(s.perSec), loopP99: median(s.loopP99), loopMax: median(s.loopMax), noop: median(s.noop) };
  };
  for (const side of sides) {
    const r = row(side.name);
    console.log(`  ${side.name.padEnd(30)} ${f1(r.perSec).padStart(11)} ${f1(r.loopP99).padStart(12)} ${f1(r.loopMax).padStart(12)} ${f2(r.noop).padStart(14)}`);
  }
  const overhead = (pool: string, inline: string) => f2(row(pool).noop - row(inline).noop);
  console.log(
    `\n  pool overhead per no-op task on Redis (vs the same library inline): stem threads ${overhead('stem thread pool', 'stem inline')} ms, bullmq sandboxed processes ${overhead('bullmq sandboxed (processes)', 'bullmq inline')} ms, bullmq sandboxed threads ${overhead('bullmq sandboxed (threads)', 'bullmq inline')} ms`,
  );
  const memory = await memoryOverhead(NOOP_TASKS * 3);
  console.log(
    `  stem on the in-memory broker: no-op ${f2(memory.thread)} ms/task in threads, ${f2(memory.inline)} ms/task inline → pool overhead ${f2(memory.thread - memory.inline)} ms`,
  );
}
