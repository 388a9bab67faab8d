import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';

const URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const LATENCY_TASKS = Number(process.env.BENCH_LATENCY_TASKS ?? 500);
/** Latency is measured at a steady, light rate so it shows wake-up time, not queueing. */
const LATENCY_RATE = 100;
/** A side still draining after this long is measured on what it processed so far. */
const MAX_DRAIN_MS = 30_000;
/** `BENCH_SIDES=stem,graphile` runs a subset. */
const SIDES = (process.env.BENCH_SIDES ?? 'stem,graphile,boss').split(',');
const CONCURRENCY = 50;
const BATCH = 1_000;
const SCHEMAS = { stem: 'stem_bench', graphile: 'graphile_bench', boss: 'pgboss_bench' } as const;

interface Figures {
  enqueueRate: number;
  processRate: number;
  p50: number;
  p99: number;
}

interface Side {
  /** Bulk-enqueues `count` no-op jobs. */
  enqueue(count: number): Promise<void>;
  /** Enqueues one job carrying its enqueue time. */
  enqueueOne(sentAt: number): Promise<void>;
  /** Starts the workers; `onStart` is called when a handler starts, `onDone` when it finished. */
  start(onStart: (sentAt: number | undefined) => void, onDone: () => void): Promise<void>;
  /** Drops jobs still waiting. */
  purge(): Promise<void>;
  stop(): Promise<void>;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const now = () => performance.timeOrigin + performance.now();
const log = (message: string) => console.log(`  ... ${message}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Stem on Postgres against graphile-worker 0.16 and pg-boss 10 on the same database (one schema
 * each): bulk enqueue, draining a backlog at concurrency 50 with no-op jobs, and enqueue→start
 * latency at a light steady rate. Stem also writes a status row per task (queued, running,
 * succeeded); the peers keep only their job rows.
 */
export async function run(): Promise<void> {
  await resetSchemas();
  const skipped: Figures = { enqueueRate: NaN, processRate: NaN, p50: NaN, p99: NaN };
  const stem = SIDES.includes('stem') ? await measure('stem', stemSide) : skipped;
  const graphile = SIDES.includes('graphile') ? await measure('graphile-worker', graphileSide) : skipped;
  const boss = SIDES.includes('boss') ? await measure('pg-boss', bossSide) : skipped;
  await resetSchemas();

  console.log(
    `\nPostgres at ${URL.replace(/:[^:@/]*@/, ':***@')}: ${fmt(TASKS)} no-op jobs, concurrency ${CONCURRENCY}, latency over ${fmt(LATENCY_TASKS)} jobs at ${LATENCY_RATE}/s`,
  );
  const rows: [string, Figures][] = [
    ['stem', stem],
    ['graphile-worker 0.16.6', graphile],
    ['pg-boss 10', boss],
  ];
  console.log(`${'side'.padEnd(24)}${'enqueue/s'.padStart(12)}${'process/s'.padStart(12)}${'p50'.padStart(10)}${'p99'.padStart(10)}`);
  for (const [name, f] of rows) {
    console.log(`${name.padEnd(24)}${fmt(f.enqueueRate).padStart(12)}${fmt(f.processRate).padStart(12)}${ms(f.p50).padStart(10)}${ms(f.p99).padStart(10)}`);
  }
  for (const [name, f] of rows.slice(1)) {
    console.log(
      `stem vs ${name}: enqueue ${(stem.enqueueRate / f.enqueueRate).toFixed(2)}x, processing ${(stem.processRate / f.processRate).toFixed(2)}x, ` +
        `p50 latency ${ms(stem.p50)} vs ${ms(f.p50)}`,
    );
  }
  console.log(`target: processing >= 3x graphile-worker (${(stem.processRate / graphile.processRate).toFixed(2)}x), p50 < 10 ms (${ms(stem.p50)})`);
}

async function measure(name: string, make: () => Promise<Side>): Promise<Figures> {
  console.log(`${name}:`);
  const side = await make();
  try {
    let t = performance.now();
    await side.enqueue(TASKS);
    const enqueueRate = TASKS / ((performance.now() - t) / 1000);
    log(`enqueued ${fmt(TASKS)} (${fmt(enqueueRate)}/s)`);

    let done = 0;
    const latencies: number[] = [];
    let drained!: () => void;
    const finished = new Promise<void>((resolve) => (drained = resolve));
    let latencyDone!: () => void;
    const measured = new Promise<void>((resolve) => (latencyDone = resolve));
    const progressEvery = Math.max(1, Math.floor(TASKS / 4));
    t = performance.now();
    await side.start(
      (sentAt) => {
        if (sentAt === undefined) return;
        latencies.push(now() - sentAt);
        if (latencies.length === LATENCY_TASKS) latencyDone();
      },
      () => {
        done++;
        if (done === TASKS) drained();
        else if (done % progressEvery === 0 && done < TASKS) log(`${fmt(done)}/${fmt(TASKS)} processed`);
      },
    );
    const timedOut = await Promise.race([finished.then(() => false), sleep(MAX_DRAIN_MS).then(() => true)]);
    const processRate = done / ((performance.now() - t) / 1000);
    log(timedOut ? `stopped after ${MAX_DRAIN_MS / 1000} s with ${fmt(done)} processed (${fmt(processRate)}/s)` : `drained the backlog (${fmt(processRate)}/s)`);
    if (timedOut) {
      await side.purge();
      await sleep(1_000);
    }

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
    return { enqueueRate, processRate, p50: pick(0.5), p99: pick(0.99) };
  } finally {
    await side.stop();
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
      worker.events.on('task:succeeded', finished);
      await worker.start();
    },
    async purge() {
      await broker.purge('bench');
    },
    async stop() {
      await worker?.close();
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
    async stop() {
      await runner?.stop();
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
    async stop() {
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
