import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { Redis } from 'ioredis';
import { StemWorkflowApp } from '../lib/adapters/memory/index.js';
import { RedisStreamsBroker, RedisWorkflowStore } from '../lib/adapters/redis/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { threeStepWorkflow } from './fixtures/three-steps.js';

/**
 * What one 3-step workflow costs on the Redis store at concurrency 50, round after round in one
 * process: runs/s, this process's CPU per run (all threads: JIT compilers and GC helpers too) and its
 * main thread's busy time per run, and the server's CPU, commands and bytes per run (INFO cpu
 * and INFO stats deltas, so exact only on a server nothing else uses: `COST_REDIS_URL`, default
 * a server of its own on port 6390). Shows how the cost settles once the JIT has warmed up.
 * Run with `node dist/bench/workflow-cost.js` after `npm run build`.
 */
const REDIS_URL = process.env.COST_REDIS_URL ?? 'redis://127.0.0.1:6390';
const RUNS = Number(process.env.COST_WORKFLOWS ?? 2_000);
const ROUNDS = Number(process.env.COST_ROUNDS ?? 6);
/** `COST_PROFILE=<round>` writes a CPU profile of that round to workflow-cost.cpuprofile in the temp directory. */
const PROFILE_ROUND = Number(process.env.COST_PROFILE ?? 0);
const CONCURRENCY = 50;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const threeSteps = threeStepWorkflow('cost.three');

async function server(redis: Redis): Promise<{ cpuUs: number; commands: number; inBytes: number; outBytes: number }> {
  const [cpu, stats] = await Promise.all([redis.info('cpu'), redis.info('stats')]);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  const stat = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(stats)?.[1] ?? 0);
  return { cpuUs: (user + sys) * 1e6, commands: stat('total_commands_processed'), inBytes: stat('total_net_input_bytes'), outBytes: stat('total_net_output_bytes') };
}

const prefix = `stem-cost-wf-${Math.random().toString(16).slice(2, 10)}`;
const redis = new Redis(REDIS_URL);
const app = await StemWorkflowApp.create(
  { broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), store: await RedisWorkflowStore.connect(REDIS_URL, { prefix }) },
  { scripts: [threeSteps], concurrency: CONCURRENCY },
);
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const session = round === PROFILE_ROUND ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const s0 = await server(redis);
    const c0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const began = performance.now();
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < RUNS; i += 1_000) {
      const size = Math.min(1_000, RUNS - i);
      const ids = await Promise.all(Array.from({ length: size }, (_, j) => app.startWorkflow('cost.three', { i: i + j })));
      for (const id of ids) waits.push(app.waitForCompletion(id, { timeout: '10m' }));
    }
    await Promise.all(waits);
    const seconds = (performance.now() - began) / 1_000;
    const c = process.cpuUsage(c0);
    const busy = performance.eventLoopUtilization(elu0).active * 1_000;
    const s1 = await server(redis);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(tmpdir(), 'workflow-cost.cpuprofile'), JSON.stringify(profile));
      session.disconnect();
    }
    console.log(
      `round ${round}: ${fmt(RUNS / seconds).padStart(6)} workflows/s; client ${fmt((c.user + c.system) / RUNS)} µs CPU per run (${fmt(busy / RUNS)} µs on the main thread); server ${fmt((s1.cpuUs - s0.cpuUs) / RUNS)} µs CPU, ${((s1.commands - s0.commands - 2) / RUNS).toFixed(1)} commands per run; ${fmt((s1.inBytes - s0.inBytes) / RUNS)} bytes sent, ${fmt((s1.outBytes - s0.outBytes) / RUNS)} received per run`,
    );
  }
} finally {
  await app.shutdown();
  await deleteKeys(REDIS_URL, prefix);
  redis.disconnect();
}
