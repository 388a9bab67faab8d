/*
 * One side of the workflow stores bench, run by `workflow-stores.ts` in a process of its own
 * (`node dist/bench/workflow-side.js redis|postgres|dbos`): it prints its figures as one line
 * that starts with FIGURES_MARK, then exits.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { StemWorkflowApp } from '../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresWorkflowStore } from '../lib/adapters/postgres/index.js';
import { RedisStreamsBroker, RedisWorkflowStore } from '../lib/adapters/redis/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { benchSettings, type SideFigures, FIGURES_MARK, type WorkflowSide } from './workflow-stores.js';
import { dropSchema, threeStepWorkflow } from './fixtures/three-steps.js';

const REDIS_URL = process.env.STEM_BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const { runs: RUNS, samples: SAMPLES, warmup: WARMUP, dbosRuns: DBOS_RUNS, dbosWarmup: DBOS_WARMUP, dbosSamples: DBOS_SAMPLES } = benchSettings();
const CONCURRENCY = 50;
const suffix = () => Math.random().toString(16).slice(2, 10);

const threeSteps = threeStepWorkflow('bench.three');

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

async function stemOn(app: StemWorkflowApp): Promise<SideFigures> {
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

async function redis(): Promise<SideFigures> {
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

async function postgres(): Promise<SideFigures> {
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
    await dropSchema(POSTGRES_URL, schema);
  }
}

/** DBOS Transact: a registered workflow of three registered steps, on a queue with worker concurrency 50, its system tables in a schema of their own. */
async function dbos(): Promise<SideFigures> {
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
    await throughput(start, DBOS_WARMUP);
    const rate = await throughput(start, DBOS_RUNS);
    return { rate, ...(await latency(start, DBOS_SAMPLES)) };
  } finally {
    await DBOS.shutdown();
    await dropSchema(POSTGRES_URL, schema);
  }
}

const sides: Record<WorkflowSide, () => Promise<SideFigures>> = { redis, postgres, dbos };
const side = process.argv[2] as WorkflowSide;
if (!Object.hasOwn(sides, side)) throw new Error(`workflow-side: no side named ${String(side)} (the sides are ${Object.keys(sides).join(', ')})`);
const figures = await sides[side]();
console.log(`${FIGURES_MARK}${JSON.stringify(figures)}`);
// NOTE: a handle a driver left open must not keep the bench waiting for this process (a write to a pipe is synchronous on Linux).
process.exit(0);
