import { StemWorkflowApp } from '../lib/adapters/memory/index.js';
import { run as runStores, storesOnly } from './workflow-stores.js';
import { threeStepWorkflow } from './fixtures/three-steps.js';

const RUNS = Number(process.env.BENCH_WORKFLOWS ?? 50_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_WORKFLOW_SAMPLES ?? 2_000);
const CONCURRENCY = 50;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const threeSteps = threeStepWorkflow('bench.three');

/**
 * In-memory workflows: 3-step script runs end to end (start, run task through the worker, three
 * checkpoints, completion seen by `waitForCompletion`), and start→complete latency of one run at
 * a time on an idle runtime.
 */
export async function run(): Promise<void> {
  if (storesOnly()) return runStores();
  await throughput(5_000, true); // JIT warm-up
  const single = await throughput(RUNS, false);
  const batched = await throughput(RUNS, true);
  console.log(`in-memory 3-step workflows end to end at concurrency ${CONCURRENCY}, started one by one: ${fmt(single)} workflows/s (${fmt(RUNS)} runs)`);
  console.log(`in-memory 3-step workflows end to end at concurrency ${CONCURRENCY}, startMany in batches of 1000: ${fmt(batched)} workflows/s (${fmt(RUNS)} runs)`);
  console.log(`target 10,000 workflows/s: ${(single / 10_000).toFixed(2)}x one by one, ${(batched / 10_000).toFixed(2)}x batched`);
  const { p50, p99 } = await latency(LATENCY_SAMPLES);
  console.log(`in-memory start→complete on an idle runtime (${fmt(LATENCY_SAMPLES)} sequential runs): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
  console.log(`target p50 < 1 ms: ${p50 < 1 ? 'met' : 'missed'}`);
  await runStores();
}

async function throughput(count: number, batched: boolean): Promise<number> {
  const app = await StemWorkflowApp.inMemory({ scripts: [threeSteps], concurrency: CONCURRENCY });
  const started = performance.now();
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 1_000) {
    const size = Math.min(1_000, count - i);
    const ids = batched
      ? await app.runtime.startMany(Array.from({ length: size }, (_, j) => ({ name: 'bench.three', params: { i: i + j } })))
      : await Promise.all(Array.from({ length: size }, (_, j) => app.startWorkflow('bench.three', { i: i + j })));
    for (const id of ids) waits.push(app.waitForCompletion(id));
  }
  const results = await Promise.all(waits);
  const rate = count / ((performance.now() - started) / 1000);
  const failed = results.filter((r) => (r as { state: { status: string } }).state.status !== 'completed').length;
  if (failed) throw new Error(`${failed} of ${count} bench workflows did not complete`);
  await app.shutdown();
  return rate;
}

async function latency(samples: number): Promise<{ p50: number; p99: number }> {
  const app = await StemWorkflowApp.inMemory({ scripts: [threeSteps], concurrency: CONCURRENCY });
  for (let i = 0; i < 200; i++) await app.waitForCompletion(await app.startWorkflow('bench.three', { i }));
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await app.waitForCompletion(await app.startWorkflow('bench.three', { i }));
    times.push(performance.now() - t);
  }
  await app.shutdown();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(samples * 0.5)]!, p99: times[Math.floor(samples * 0.99)]! };
}
