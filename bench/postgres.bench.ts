import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';
import { scalingTable } from './scaling.js';

const URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const LATENCY_TASKS = Number(process.env.BENCH_LATENCY_TASKS ?? 500);
/** Latency is measured at a steady, light rate so it shows wake-up time, not queueing. */
const LATENCY_RATE = 100;
/** A side still draining after this long is measured on what it processed so far. */
const MAX_DRAIN_MS = 30_000;
/** `BENCH_SIDES=stem,graphile` runs a subset. */
const SIDES = (process.env.BENCH_SIDES ?? 'stem,graphile').split(',');
const CONCURRENCY = 50;
const BATCH = 1_000;
/** `BENCH_SCHEMA_TAG` suffixes the schema names, so benches run side by side on one database do not share tables. */
const TAG = process.env.BENCH_SCHEMA_TAG ? `_${process.env.BENCH_SCHEMA_TAG.replace(/\W/g, '')}` : '';
const SCHEMAS = { stem: `stem_bench${TAG}`, graphile: `graphile_bench${TAG}`, boss: `pgboss_bench${TAG}` } as const;

type Metric = 'bulk' | 'single' | 'processing' | 'p50' | 'p99';
type Figures = Record<Metric, number>;
const METRICS: { key: Metric; label: string; unit: string; higherIsBetter: boolean }[] = [
  { key: 'bulk', label: 'enqueue, bulk (batches of 1000)', unit: '/s', higherIsBetter: true },
  { key: 'single', label: 'enqueue, one by one', unit: '/s', higherIsBetter: true },
  { key: 'processing', label: `processing at concurrency ${CONCURRENCY}`, unit: '/s', higherIsBetter: true },
  { key: 'p50', label: 'enqueue → start latency p50', unit: 'ms', higherIsBetter: false },
  { key: 'p99', label: 'enqueue → start latency p99', unit: 'ms', higherIsBetter: false },
];

interface Side {
  readonly name: string;
  /** Bulk-enqueues `count` no-op jobs. */
  enqueue(count: number): Promise<void>;
  /** Enqueues one job carrying its enqueue time. */
  enqueueOne(sentAt?: number): Promise<void>;
  /** Starts the workers; `onStart` is called when a handler starts, `onDone` when it finished. */
  start(onStart: (sentAt: number | undefined) => void, onDone: () => void): Promise<void>;
  /** Stops the workers. */
  stopWorkers(): Promise<void>;
  /** Drops jobs still waiting. */
  purge(): Promise<void>;
  close(): Promise<void>;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 2_000);
/** `BENCH_SCALING=0` skips the scaling table. */
const SCALING = process.env.BENCH_SCALING !== '0';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const now = () => performance.timeOrigin + performance.now();
const log = (message: string) => console.log(`  ... ${message}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Stem on Postgres against graphile-worker 0.16 (and pg-boss 10 with `BENCH_SIDES=stem,graphile,boss`)
 * on the same database, one schema each: bulk enqueue, one-by-one enqueue (awaiting each),
 * draining a backlog at concurrency 50 with no-op jobs, and enqueue→start latency at a light
 * steady rate. The sides alternate over several rounds (order swapped each round) and the medians
 * are compared. Stem also writes a status row per task (queued, running, succeeded); the peers
 * keep only their job rows.
 */
export async function run(): Promise<void> {
  await resetSchemas();
  const makers: [string, () => Promise<Side>][] = [
    ['stem', stemSide],
    ['graphile', graphileSide],
    ['boss', bossSide],
  ];
  const sides: Side[] = [];
  for (const [key, make] of makers) if (SIDES.includes(key)) sides.push(await make());
  const samples = new Map<Side, Record<Metric, number[]>>(sides.map((side) => [side, { bulk: [], single: [], processing: [], p50: [], p99: [] }]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of round % 2 ? sides : [...sides].reverse()) {
        console.log(`\n[round ${round}/${ROUNDS}: ${side.name}]`);
        const r = await measure(side);
        for (const m of METRICS) samples.get(side)![m.key].push(r[m.key]);
      }
    }
  } finally {
    for (const side of sides) await side.close();
  }
  console.log(
    `\nPostgres at ${URL.replace(/:[^:@/]*@/, ':***@')}: ${ROUNDS} rounds of ${fmt(TASKS)} no-op jobs, concurrency ${CONCURRENCY}, latency over ${fmt(LATENCY_TASKS)} jobs at ${LATENCY_RATE}/s`,
  );
  const medians = new Map(sides.map((side) => [side, Object.fromEntries(METRICS.map((m) => [m.key, median(samples.get(side)![m.key])])) as Figures]));
  const [stem, ...peers] = sides;
  console.log('Result (medians):');
  for (const m of METRICS) {
    const shown = m.unit === 'ms' ? (n: number) => n.toFixed(2) : fmt;
    const a = medians.get(stem!)![m.key];
    const cells = peers.map((peer) => {
      const b = medians.get(peer)![m.key];
      const ratio = m.higherIsBetter ? a / b : b / a;
      return `${peer.name} ${shown(b).padStart(9)} ${m.unit} → stem ${ratio.toFixed(2)}x ${ratio >= 1 ? 'better' : 'worse'}`;
    });
    console.log(`  ${m.label.padEnd(34)} stem ${shown(a).padStart(9)} ${m.unit}  ${cells.join('  ')}`);
  }
  if (SCALING && stem && peers[0]) {
    await scalingTable(
      [
        { name: 'stem', kind: 'stem-postgres', url: URL, namespace: SCHEMAS.stem, fill: (queue, count) => fillStem(queue, count) },
        { name: 'graphile-worker', kind: 'graphile', url: URL, namespace: SCHEMAS.graphile, fill: (queue, count) => fillGraphile(queue, count) },
      ],
      (processes, concurrency) => (concurrency === 1 ? 1_000 : processes * 5_000),
    );
  }
  await resetSchemas();
}

async function measure(side: Side): Promise<Figures> {
  let t = performance.now();
  await side.enqueue(TASKS);
  const bulk = TASKS / ((performance.now() - t) / 1000);
  log(`bulk enqueue of ${fmt(TASKS)}: ${fmt(bulk)}/s`);

  let done = 0;
  let target = TASKS;
  let reached: (() => void) | undefined;
  const latencies: number[] = [];
  let latencyDone!: () => void;
  const measured = new Promise<void>((resolve) => (latencyDone = resolve));
  const progressEvery = Math.max(1, Math.floor(TASKS / 4));
  const waitFor = (count: number) =>
    new Promise<boolean>((resolve) => {
      target = count;
      reached = () => resolve(false);
      if (done >= target) resolve(false);
      void sleep(MAX_DRAIN_MS).then(() => resolve(true));
    });
  const drained = waitFor(TASKS);
  t = performance.now();
  await side.start(
    (sentAt) => {
      if (sentAt === undefined) return;
      latencies.push(now() - sentAt);
      if (latencies.length === LATENCY_TASKS) latencyDone();
    },
    () => {
      done++;
      if (done === target) reached?.();
      else if (target === TASKS && done % progressEvery === 0 && done < TASKS) log(`${fmt(done)}/${fmt(TASKS)} processed`);
    },
  );
  const timedOut = await drained;
  const processing = done / ((performance.now() - t) / 1000);
  log(timedOut ? `stopped after ${MAX_DRAIN_MS / 1000} s with ${fmt(done)} processed (${fmt(processing)}/s)` : `drained the backlog: ${fmt(processing)}/s`);
  if (timedOut) {
    await side.purge();
    await sleep(1_000);
  }

  done = 0;
  const singles = waitFor(SINGLE);
  t = performance.now();
  for (let i = 0; i < SINGLE; i++) await side.enqueueOne();
  const single = SINGLE / ((performance.now() - t) / 1000);
  log(`one-by-one enqueue of ${fmt(SINGLE)} (awaiting each): ${fmt(single)}/s`);
  await singles;

  target = Number.MAX_SAFE_INTEGER;
  const gap = 1000 / LATENCY_RATE;
  const start = performance.now();
  for (let i = 0; i < LATENCY_TASKS; i++) {
    const wait = start + i * gap - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await side.enqueueOne(now());
  }
  await Promise.race([measured, sleep(MAX_DRAIN_MS)]);
  if (latencies.length < LATENCY_TASKS) log(`only ${fmt(latencies.length)}/${fmt(LATENCY_TASKS)} latency jobs started within ${MAX_DRAIN_MS / 1000} s`);
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  log(`latency p50 ${ms(pick(0.5))}, p99 ${ms(pick(0.99))}`);
  await side.stopWorkers();
  return { bulk, single, processing, p50: pick(0.5), p99: pick(0.99) };
}

/** Bulk-enqueues `count` no-op tasks on `queue` for the scaling table's Stem workers. */
async function fillStem(queue: string, count: number): Promise<void> {
  const options = { schema: SCHEMAS.stem, logger: { info: () => undefined, warn: (m: string) => console.warn(m) } };
  const broker = await PostgresBroker.connect(URL, options);
  const backend = await PostgresResultBackend.connect(URL, options);
  const stem = new Stem({ broker, backend, registry: new SimpleTaskRegistry([{ name: 'noop', call: () => 0 }]) });
  try {
    for (let i = 0; i < count; i += BATCH) {
      await stem.enqueueMany(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', args: { i: i + j }, options: { queue } })));
    }
  } finally {
    await broker.close();
    await backend.close();
  }
}

/** The same for graphile-worker (its `add_jobs`, which `addJobs` calls). */
async function fillGraphile(queue: string, count: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: URL, max: 2 });
  try {
    for (let i = 0; i < count; i += BATCH) {
      const specs = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ identifier: 'noop', payload: { i: i + j } }));
      await pool.query(`SELECT ${SCHEMAS.graphile}.add_jobs(array(SELECT json_populate_recordset(null::${SCHEMAS.graphile}.job_spec, $1::json)))`, [JSON.stringify(specs)]);
    }
  } finally {
    await pool.end();
  }
}

async function stemSide(): Promise<Side> {
  const quiet = { info: () => undefined, warn: (m: string) => console.warn(m) };
  const options = { schema: SCHEMAS.stem, logger: quiet, pool: { max: 10 } };
  const broker = await PostgresBroker.connect(URL, options);
  const backend = await PostgresResultBackend.connect(URL, options);
  let onStart: (sentAt: number | undefined) => void = () => undefined;
  const registry = new SimpleTaskRegistry([{ name: 'noop', options: { queue: 'bench' }, call: async (_ctx, args: { sentAt?: number }) => void onStart(args.sentAt) }]);
  const stem = new Stem({ broker, backend, registry });
  let worker: Worker | undefined;
  return {
    name: 'stem',
    async enqueue(count) {
      for (let i = 0; i < count; i += BATCH) {
        await stem.enqueueMany(Array.from({ length: Math.min(BATCH, count - i) }, () => ({ name: 'noop', args: {}, options: { queue: 'bench' } })));
      }
    },
    async enqueueOne(sentAt) {
      await stem.enqueue('noop', { sentAt }, { queue: 'bench' });
    },
    async start(started, finished) {
      onStart = started;
      worker = new Worker({ broker, backend, registry, queues: ['bench'], concurrency: CONCURRENCY });
      worker.signals.on('task-succeeded', () => finished());
      await worker.start();
    },
    async purge() {
      await broker.purge('bench');
    },
    async stopWorkers() {
      await worker?.close();
    },
    async close() {
      await broker.close();
      await backend.close();
    },
  };
}

async function graphileSide(): Promise<Side> {
  const quiet = new GraphileLogger(() => (level: string, message: string) => {
    if (level === 'error') console.error(message);
  });
  const utils = await makeWorkerUtils({ connectionString: URL, schema: SCHEMAS.graphile, logger: quiet });
  await utils.migrate();
  const pool = new pg.Pool({ connectionString: URL, max: 4 });
  let runner: Awaited<ReturnType<typeof runGraphile>> | undefined;
  return {
    name: 'graphile-worker 0.16',
    async enqueue(count) {
      for (let i = 0; i < count; i += BATCH) {
        const specs = Array.from({ length: Math.min(BATCH, count - i) }, () => ({ identifier: 'noop', payload: {} }));
        await pool.query(`SELECT ${SCHEMAS.graphile}.add_jobs(array(SELECT json_populate_recordset(null::${SCHEMAS.graphile}.job_spec, $1::json)))`, [JSON.stringify(specs)]);
      }
    },
    async enqueueOne(sentAt) {
      await utils.addJob('noop', { sentAt });
    },
    async start(started, finished) {
      runner = await runGraphile({
        connectionString: URL,
        schema: SCHEMAS.graphile,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger: quiet,
        taskList: {
          noop: async (payload) => {
            started((payload as { sentAt?: number }).sentAt);
            finished();
          },
        },
      });
    },
    async purge() {
      await pool.query(`DELETE FROM ${SCHEMAS.graphile}._private_jobs WHERE locked_at IS NULL`);
    },
    async stopWorkers() {
      await runner?.stop();
    },
    async close() {
      await utils.release();
      await pool.end();
    },
  };
}

async function bossSide(): Promise<Side> {
  const boss = new PgBoss({ connectionString: URL, schema: SCHEMAS.boss, max: 10, supervise: false, schedule: false });
  boss.on('error', (error) => console.error('pg-boss:', error.message));
  await boss.start();
  await boss.createQueue('noop');
  return {
    name: 'pg-boss 10',
    async enqueue(count) {
      for (let i = 0; i < count; i += BATCH) {
        await boss.insert(Array.from({ length: Math.min(BATCH, count - i) }, () => ({ name: 'noop', data: {} })));
      }
    },
    async enqueueOne(sentAt) {
      await boss.send('noop', { sentAt });
    },
    async start(started, finished) {
      // NOTE: pg-boss 10 has no per-worker concurrency; a batch of 50 run at once is its equivalent.
      await boss.work<{ sentAt?: number }>('noop', { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        await Promise.all(
          jobs.map(async (job) => {
            started(job.data.sentAt);
            finished();
          }),
        );
      });
    },
    async purge() {
      await boss.purgeQueue('noop');
    },
    async stopWorkers() {
      await boss.offWork('noop');
    },
    async close() {
      await boss.stop({ graceful: false, wait: true, timeout: 5_000 }).catch(() => undefined);
    },
  };
}

async function resetSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    for (const schema of Object.values(SCHEMAS)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
