import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { StemWorkflowApp } from '../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresWorkflowStore } from '../lib/adapters/postgres/index.js';
import { RedisStreamsBroker, RedisWorkflowStore } from '../lib/adapters/redis/index.js';
import { WorkflowScript } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';

const REDIS_URL = process.env.STEM_BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = Number(process.env.BENCH_STORE_WORKFLOWS ?? 2_000);
const SAMPLES = Number(process.env.BENCH_STORE_WORKFLOW_SAMPLES ?? 200);
/**
 * Runs before the timed ones on each Stem store: the worker's code reaches its steady cost only
 * after some thousands of runs (JIT), and a timed window of 2,000 runs after 1,000 measured mostly
 * the warm-up. DBOS warms up on 200 runs (`BENCH_DBOS_WARMUP`): its rate is bound by its queue
 * polling, and 2,000 warm-up runs gave the same 48/s as 200.
 */
const WARMUP = Number(process.env.BENCH_STORE_WARMUP ?? 5_000);
/** Runs before DBOS's timed ones (`BENCH_DBOS_WARMUP`; 200, at its rate of about 48/s, takes 4 s). */
const DBOS_WARMUP = Number(process.env.BENCH_DBOS_WARMUP ?? 200);
const CONCURRENCY = 50;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** `BENCH_WORKFLOW_STORES=redis,postgres,dbos` (any of them) runs only those sides; unset runs all, and the in-memory figures too. */
const STORES = process.env.BENCH_WORKFLOW_STORES?.split(',').map((s) => s.trim().toLowerCase());
const SIDES = ['redis', 'postgres', 'dbos'] as const;
const wants = (side: (typeof SIDES)[number]) => !STORES || STORES.includes(side);
const unknownSides = STORES?.filter((s) => !(SIDES as readonly string[]).includes(s)) ?? [];
if (unknownSides.length > 0) console.warn(`BENCH_WORKFLOW_STORES: no side named ${unknownSides.join(', ')} (the sides are ${SIDES.join(', ')})`);

/** Whether `BENCH_WORKFLOW_STORES` names the sides to run (the in-memory figures are then left out). */
export function storesOnly(): boolean {
  return STORES !== undefined;
}
const suffix = () => Math.random().toString(16).slice(2, 10);

const threeSteps = new WorkflowScript<{ i: number }, number>({
  name: 'bench.three',
  run: async (ctx) => {
    const a = await ctx.step('a', () => ctx.params.i);
    const b = await ctx.step('b', () => a + 1);
    return ctx.step('c', () => b * 2);
  },
});

interface Figures {
  readonly rate: number;
  /** CPU time of this process (producer, worker and their drivers) per run, µs, during the throughput run. */
  readonly cpuUs?: number;
  readonly p50: number;
  readonly p99: number;
}

/** Start `count` runs (1,000 at a time) and wait for all of them; runs per second. */
async function throughput(start: (i: number) => Promise<() => Promise<unknown>>, count: number): Promise<number> {
  const began = performance.now();
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 1_000) {
    const size = Math.min(1_000, count - i);
    const handles = await Promise.all(Array.from({ length: size }, (_, j) => start(i + j)));
    for (const wait of handles) waits.push(wait());
  }
  await Promise.all(waits);
  return count / ((performance.now() - began) / 1_000);
}

/** start→complete of one run at a time on an idle worker. */
async function latency(start: (i: number) => Promise<() => Promise<unknown>>, samples: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 30; i++) await (await start(i))();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await (
      await start(i)
    )();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(samples * 0.5)]!, p99: times[Math.floor(samples * 0.99)]! };
}

async function stemOn(app: StemWorkflowApp): Promise<Figures> {
  const start = async (i: number) => {
    const id = await app.startWorkflow('bench.three', { i });
    return async () => {
      const done = await app.waitForCompletion(id, { timeout: '10m' });
      if (done.state.status !== 'completed') throw new Error(`bench run ${id} ended ${done.state.status}`);
    };
  };
  await throughput(start, WARMUP);
  const cpu = process.cpuUsage();
  const rate = await throughput(start, RUNS);
  const used = process.cpuUsage(cpu);
  return { rate, cpuUs: (used.user + used.system) / RUNS, ...(await latency(start, SAMPLES)) };
}

async function redis(): Promise<Figures> {
  const prefix = `stem-bench-wf-${suffix()}`;
  const app = await StemWorkflowApp.create(
    { broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), store: await RedisWorkflowStore.connect(REDIS_URL, { prefix }) },
    { scripts: [threeSteps], concurrency: CONCURRENCY },
  );
  try {
    return await stemOn(app);
  } finally {
    await app.shutdown();
    await deleteKeys(REDIS_URL, prefix);
  }
}

async function postgres(): Promise<Figures> {
  const schema = `stem_bench_wf_${suffix()}`;
  const options = { schema, logger: { info: () => undefined, warn: (m: string) => console.warn(m) } };
  const app = await StemWorkflowApp.create(
    { broker: await PostgresBroker.connect(POSTGRES_URL, options), store: await PostgresWorkflowStore.connect(POSTGRES_URL, options) },
    { scripts: [threeSteps], concurrency: CONCURRENCY },
  );
  try {
    return await stemOn(app);
  } finally {
    await app.shutdown();
    await dropSchema(schema);
  }
}

/** DBOS Transact: a registered workflow of three registered steps, on a queue with worker concurrency 50, its system tables in a schema of their own. */
async function dbos(): Promise<Figures> {
  const schema = `dbos_bench_${suffix()}`;
  const a = DBOS.registerStep(async (i: number) => i, { name: 'a' });
  const b = DBOS.registerStep(async (n: number) => n + 1, { name: 'b' });
  const c = DBOS.registerStep(async (n: number) => n * 2, { name: 'c' });
  const workflow = DBOS.registerWorkflow(async (i: number) => c(await b(await a(i))), { name: 'bench.three' });
  DBOS.setConfig({ name: 'stem-bench', systemDatabaseUrl: POSTGRES_URL, systemDatabaseSchemaName: schema, logLevel: 'error', runAdminServer: false });
  await DBOS.launch();
  try {
    await DBOS.registerQueue('bench', { workerConcurrency: CONCURRENCY });
    const start = async (i: number) => {
      const handle = await DBOS.startWorkflow(workflow, { queueName: 'bench' })(i);
      return () => handle.getResult();
    };
    const count = Math.max(200, Math.floor(RUNS / 5));
    await throughput(start, DBOS_WARMUP);
    const rate = await throughput(start, count);
    return { rate, ...(await latency(start, Math.min(SAMPLES, 100))) };
  } finally {
    await DBOS.shutdown();
    await dropSchema(schema);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

const line = (name: string, f: Figures) =>
  console.log(
    `${name.padEnd(26)} ${fmt(f.rate).padStart(7)} 3-step workflows/s at concurrency ${CONCURRENCY}; start→complete idle p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms${f.cpuUs === undefined ? '' : `; ${fmt(f.cpuUs)} µs CPU per run`}`,
  );

/** Workflows on the Redis and Postgres stores, and DBOS Transact on the same Postgres, in one run. */
export async function run(): Promise<void> {
  console.log(
    `\nWorkflow stores: ${fmt(RUNS)} runs timed after ${fmt(WARMUP)} (DBOS: ${fmt(Math.max(200, Math.floor(RUNS / 5)))} after ${fmt(DBOS_WARMUP)}; BENCH_STORE_WORKFLOWS, BENCH_STORE_WARMUP, BENCH_DBOS_WARMUP), latency over ${fmt(SAMPLES)} sequential runs`,
  );
  if (wants('redis')) {
    const r = await redis();
    line('Stem on Redis', r);
    console.log(`  targets: ≥ 5,000/s ${r.rate >= 5_000 ? 'met' : 'missed'}; p50 < 5 ms ${r.p50 < 5 ? 'met' : 'missed'}`);
  }
  const p = wants('postgres') ? await postgres() : undefined;
  if (p) line('Stem on Postgres', p);
  const d = wants('dbos') ? await dbos() : undefined;
  if (d) line('DBOS Transact on Postgres', d);
  if (p && d) {
    console.log(`  Stem/DBOS on Postgres: ${(p.rate / d.rate).toFixed(1)}x throughput, p50 ${(d.p50 / p.p50).toFixed(1)}x lower`);
    console.log(`  targets: ≥ 10x DBOS ${p.rate >= 10 * d.rate ? 'met' : 'missed'}; ≥ 2,000/s ${p.rate >= 2_000 ? 'met' : 'missed'}; p50 < 15 ms ${p.p50 < 15 ? 'met' : 'missed'}`);
  }
}
