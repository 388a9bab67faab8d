/**
 * The operations queries a dashboard runs, on a big store: seeds 1,000,000 finished task statuses
 * (plus pending, delayed and dead-lettered tasks through the real publish path) into Redis and
 * into Postgres, then times the overview (listQueues + queueStats per queue + countByState +
 * throughput of the last hour, issued together as a page would) and the task list (first pages
 * with and without filters, a deep page, an id prefix, and on Postgres an args search), p50/p95
 * over repeated calls, against the 200 ms target. Then measures what recording args costs an
 * enqueue (recordArgs on vs off, same process, interleaved). Cleans up its own prefix and schema.
 *
 * `npm run bench -- dashboard` (DASHBOARD_TASKS=200000 for a smaller store).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import type { Broker } from '../lib/core/contracts/broker.js';
import type { BrokerIntrospection, ResultBackendIntrospection } from '../lib/core/contracts/introspection.js';
import type { ResultBackend } from '../lib/core/contracts/result-backend.js';
import { Stem } from '../lib/core/stem.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { type SeedPlan, seedPostgres, seedRedis } from './dashboard-seed.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TASKS = Number(process.env.DASHBOARD_TASKS ?? 1_000_000);
const REPEAT = 30;
const TARGET_MS = 200;
const ENQUEUE_SINGLES = 2_000;
const ENQUEUE_BULK = 10_000;

type Pair = { broker: Broker & BrokerIntrospection; backend: ResultBackend & ResultBackendIntrospection };
type Row = { label: string; p50: number; p95: number };

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const progress = (msg: string) => console.log(`  ... ${msg}`);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs `fn` twice to warm up, then `REPEAT` times; p50/p95 in ms. */
async function time(label: string, fn: () => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { label, p50: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
}

/** The overview page: every query issued at once. */
async function overview({ broker, backend }: Pair): Promise<void> {
  const queues = await broker.listQueues();
  await Promise.all([...queues.map((q) => broker.queueStats(q)), backend.countByState(), backend.throughput({ since: Date.now() - 3_600_000 })]);
}

/** Pending, delayed and dead-lettered tasks through the real publish path (statuses included). */
async function seedLive(pair: Pair, queue: string): Promise<void> {
  const stem = new Stem({ broker: pair.broker, backend: pair.backend, allowUnknownTasks: true });
  await stem.enqueueMany(Array.from({ length: 1_000 }, (_, i) => ({ name: 'orders.process', args: { orderId: -i, customer: 'c-live' }, options: { queue } })));
  await stem.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ name: 'orders.process', args: { orderId: -i }, options: { queue, delay: 3_600_000 } })));
  const consumer = pair.broker.consume({ queues: [queue], consumerName: 'dashboard-bench' });
  let dead = 0;
  while (dead < 200) {
    const deliveries = await consumer.fetch(200 - dead, AbortSignal.timeout(5_000));
    for (const d of deliveries) {
      await pair.backend.set(d.envelope.id, { state: 'failed', attempt: 0, error: { type: 'Error', message: 'boom', retryable: false } });
      await pair.broker.deadLetter(d, 'max-retries-exhausted');
    }
    dead += deliveries.length;
  }
  await consumer.close();
}

async function measure(store: string, pair: Pair, queues: readonly string[], sampleIds: readonly string[], argsSearch: boolean): Promise<Row[]> {
  const { backend } = pair;
  const rows: Row[] = [];
  const stats = await pair.broker.queueStats(queues[0]!);
  progress(
    `${store}: ${queues[0]} has ${fmt(stats.pending)} pending, ${fmt(stats.delayed)} delayed, ${fmt(stats.deadLetters)} dead; counts ${JSON.stringify(await backend.countByState())}`,
  );
  rows.push(await time('overview (listQueues + queueStats × queues + countByState + throughput 1 h), together', () => overview(pair)));
  rows.push(await time('  listQueues', () => pair.broker.listQueues()));
  rows.push(await time('  queueStats (one queue)', () => pair.broker.queueStats(queues[0]!)));
  rows.push(await time('  countByState (all queues)', () => backend.countByState()));
  rows.push(await time('  countByState (one queue)', () => backend.countByState(queues[1])));
  rows.push(await time('  throughput, last hour by minute', () => backend.throughput({ since: Date.now() - 3_600_000 })));
  rows.push(await time('task list: first page (50), no filter', () => backend.listStatuses({ limit: 50 })));
  rows.push(await time('task list: first page, state=failed', () => backend.listStatuses({ state: 'failed', limit: 50 })));
  rows.push(await time('task list: first page, state=succeeded', () => backend.listStatuses({ state: 'succeeded', limit: 50 })));
  rows.push(await time('task list: first page, queue', () => backend.listStatuses({ queue: queues[2], limit: 50 })));
  rows.push(await time('task list: first page, queue + state=failed', () => backend.listStatuses({ queue: queues[2], state: 'failed', limit: 50 })));
  rows.push(await time('task list: page at offset 5,000, state=succeeded', () => backend.listStatuses({ state: 'succeeded', limit: 50, offset: 5_000 })));
  rows.push(await time('task list: page at offset 5,000, no filter', () => backend.listStatuses({ limit: 50, offset: 5_000 })));
  rows.push(await time('search: id prefix (8 chars)', () => backend.searchStatuses({ idPrefix: sampleIds[3 % sampleIds.length]!.slice(0, 8), limit: 50 })));
  rows.push(await time('search: id prefix (2 chars)', () => backend.searchStatuses({ idPrefix: sampleIds[5 % sampleIds.length]!.slice(0, 2), limit: 50 })));
  rows.push(await time('getWithArgs', () => backend.getWithArgs(sampleIds[7 % sampleIds.length]!)));
  if (argsSearch) {
    rows.push(await time('search: argsContain {customer} (1 in 1000)', () => backend.searchStatuses({ argsContain: { customer: 'c-42' }, limit: 50 })));
    rows.push(await time('search: argsContain {orderId} (1 status)', () => backend.searchStatuses({ argsContain: { orderId: 777 }, limit: 50 })));
  }
  return rows;
}

function report(store: string, rows: readonly Row[]): void {
  console.log(`\n${store}: p50 / p95 over ${REPEAT} calls (target < ${TARGET_MS} ms)`);
  for (const r of rows) console.log(`  ${r.label.padEnd(84)} ${r.p50.toFixed(1).padStart(7)} / ${r.p95.toFixed(1).padStart(7)} ms ${r.p95 < TARGET_MS ? 'ok' : 'OVER'}`);
}

/** Enqueue rates with args recorded and not, on one store (interleaved rounds, medians). */
async function enqueueCost(store: string, connect: (recordArgs: boolean) => Promise<Pair & { close(): Promise<void> }>): Promise<void> {
  const rates: Record<string, { single: number[]; bulk: number[] }> = { on: { single: [], bulk: [] }, off: { single: [], bulk: [] } };
  const args = {
    orderId: 123456,
    customer: 'c-42',
    lines: [
      { sku: 'A-1', qty: 2 },
      { sku: 'B-7', qty: 1 },
    ],
    note: 'leave at the door',
  };
  for (let round = 0; round < 3; round++) {
    for (const mode of ['off', 'on'] as const) {
      const pair = await connect(mode === 'on');
      const stem = new Stem({ broker: pair.broker, backend: pair.backend, allowUnknownTasks: true });
      const queue = `enqueue-${mode}-${round}`;
      let t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < ENQUEUE_SINGLES) {
            next++;
            await stem.enqueue('orders.process', args, { queue });
          }
        }),
      );
      rates[mode]!.single.push(ENQUEUE_SINGLES / ((performance.now() - t) / 1000));
      t = performance.now();
      for (let i = 0; i < ENQUEUE_BULK; i += 1_000) await stem.enqueueMany(Array.from({ length: 1_000 }, () => ({ name: 'orders.process', args, options: { queue } })));
      rates[mode]!.bulk.push(ENQUEUE_BULK / ((performance.now() - t) / 1000));
      await pair.broker.purge(queue);
      await pair.close();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n${store} enqueue (args of ${JSON.stringify(args).length} bytes; medians of 3 interleaved rounds):`);
  for (const kind of ['single', 'bulk'] as const) {
    const off = median(rates.off![kind]);
    const on = median(rates.on![kind]);
    console.log(
      `  ${kind === 'single' ? `one by one (50 concurrent, ${fmt(ENQUEUE_SINGLES)})` : `bulk (enqueueMany 1000 × ${ENQUEUE_BULK / 1000})`}: recordArgs off ${fmt(off)}/s, on ${fmt(on)}/s (${(((on - off) / off) * 100).toFixed(1)}%)`,
    );
  }
}

export async function run(): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const queues = Array.from({ length: 8 }, (_, i) => `dash-${tag}-q${i}`);
  const plan: SeedPlan = { finished: TASKS, queues, failedEvery: 50, spreadMs: 2 * 3_600_000 };
  console.log(
    `Dashboard queries on ${fmt(TASKS)} finished statuses over ${queues.length} queues (2% failed, spread over 2 h); load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const prefix = `stem-bench-dash-${tag}`;
  const redis = new Redis(REDIS_URL);
  try {
    const samples = await seedRedis(redis, prefix, plan);
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    try {
      await seedLive({ broker, backend }, queues[0]!);
      report('Redis', await measure('redis', { broker, backend }, queues, samples, false));
      await enqueueCost('Redis', async (recordArgs) => {
        const b = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
        const r = await RedisResultBackend.connect(REDIS_URL, { prefix, recordArgs });
        return { broker: b, backend: r, close: async () => (await b.close(), await r.close()) };
      });
    } finally {
      await broker.close();
      await backend.close();
    }
  } finally {
    progress('redis: deleting the bench keys');
    await deleteKeys(REDIS_URL, prefix);
    redis.disconnect();
  }

  const schema = `stem_bench_dash_${tag}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    const broker = await PostgresBroker.connect(PG_URL, { schema });
    const backend = await PostgresResultBackend.connect(PG_URL, { schema, cleanupInterval: 0 });
    try {
      const samples = await seedPostgres(admin, schema, plan);
      await seedLive({ broker, backend }, queues[0]!);
      report('Postgres', await measure('postgres', { broker, backend }, queues, samples, true));
      await enqueueCost('Postgres', async (recordArgs) => {
        const b = await PostgresBroker.connect(PG_URL, { schema });
        const r = await PostgresResultBackend.connect(PG_URL, { schema, recordArgs, cleanupInterval: 0 });
        return { broker: b, backend: r, close: async () => (await b.close(), await r.close()) };
      });
    } finally {
      await broker.close();
      await backend.close();
    }
  } finally {
    progress('postgres: dropping the bench schema');
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  console.log(
    `\nload average at the end ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}
