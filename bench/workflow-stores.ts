import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The sides of the workflow stores bench. */
export type WorkflowSide = 'redis' | 'postgres' | 'dbos';

/** What one side measured. */
export interface SideFigures {
  readonly rate: number;
  /** CPU time of the side's process (producer, worker and their drivers) per run, µs, during the throughput run. */
  readonly cpuUs?: number;
  readonly p50: number;
  readonly p99: number;
}

/** How a side's process starts the line that carries its figures (JSON after the mark). */
export const FIGURES_MARK = '@@workflow-side-figures ';

const SIDES: readonly WorkflowSide[] = ['redis', 'postgres', 'dbos'];
const CONCURRENCY = 50;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/**
 * Run counts of the sides, from the environment: `BENCH_STORE_WORKFLOWS` timed runs (10,000)
 * after `BENCH_STORE_WARMUP` (5,000: the worker's code reaches its steady cost only after some
 * thousands of runs), latency over `BENCH_STORE_WORKFLOW_SAMPLES` sequential runs (200); DBOS
 * `BENCH_DBOS_WORKFLOWS` (400) after `BENCH_DBOS_WARMUP` (200: its rate is bound by its queue
 * polling, and 2,000 warm-up runs gave the same 48/s), latency over at most 100 runs.
 */
export function benchSettings() {
  const samples = env('BENCH_STORE_WORKFLOW_SAMPLES', 200);
  return {
    runs: env('BENCH_STORE_WORKFLOWS', 10_000),
    warmup: env('BENCH_STORE_WARMUP', 5_000),
    samples,
    dbosRuns: env('BENCH_DBOS_WORKFLOWS', 400),
    dbosWarmup: env('BENCH_DBOS_WARMUP', 200),
    dbosSamples: Math.min(samples, 100),
  };
}
/** `BENCH_WORKFLOW_STORES=redis,postgres,dbos` (any of them) runs only those sides; unset runs all, and the in-memory figures too. */
const STORES = process.env.BENCH_WORKFLOW_STORES?.split(',').map((s) => s.trim().toLowerCase());
const wants = (side: WorkflowSide) => !STORES || STORES.includes(side);

/** Whether `BENCH_WORKFLOW_STORES` names the sides to run (the in-memory figures are then left out). */
export function storesOnly(): boolean {
  return STORES !== undefined;
}

/**
 * Runs one side in a process of its own (`workflow-side.js`), so that no side's figures carry
 * what ran before it in the same process (heap, JIT feedback of another adapter); its other
 * output is passed through.
 */
function measure(side: WorkflowSide): Promise<SideFigures> {
  const script = fileURLToPath(new URL('./workflow-side.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, side], { stdio: ['ignore', 'pipe', 'inherit'] });
    let figures: SideFigures | undefined;
    let bad: string | undefined;
    let rest = '';
    const take = (line: string) => {
      if (!line.startsWith(FIGURES_MARK)) return console.log(line);
      try {
        figures = JSON.parse(line.slice(FIGURES_MARK.length)) as SideFigures;
      } catch {
        bad = line;
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) take(line);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (rest) take(rest);
      if (code === 0 && figures) return resolve(figures);
      const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      reject(new Error(`workflow stores bench: the ${side} side ${how}${bad ? `; its figures line is not JSON: ${bad}` : figures ? '' : ' without its figures'}`));
    });
  });
}

const line = (name: string, f: SideFigures) =>
  console.log(
    `${name.padEnd(26)} ${fmt(f.rate).padStart(7)} 3-step workflows/s at concurrency ${CONCURRENCY}; start→complete idle p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms${f.cpuUs === undefined ? '' : `; ${fmt(f.cpuUs)} µs CPU per run`}`,
  );

/** Workflows on the Redis and Postgres stores, and DBOS Transact on the same Postgres, in one run, each side in a process of its own. */
export async function run(): Promise<void> {
  const unknownSides = STORES?.filter((s) => !(SIDES as readonly string[]).includes(s)) ?? [];
  if (unknownSides.length > 0) console.warn(`BENCH_WORKFLOW_STORES: no side named ${unknownSides.join(', ')} (the sides are ${SIDES.join(', ')})`);
  const settings = benchSettings();
  console.log(
    `\nWorkflow stores, each side in a process of its own: ${fmt(settings.runs)} runs timed after ${fmt(settings.warmup)} (DBOS: ${fmt(settings.dbosRuns)} after ${fmt(settings.dbosWarmup)}; BENCH_STORE_WORKFLOWS, BENCH_STORE_WARMUP, BENCH_DBOS_WORKFLOWS, BENCH_DBOS_WARMUP), latency over ${fmt(settings.samples)} sequential runs (DBOS: ${fmt(settings.dbosSamples)}; BENCH_STORE_WORKFLOW_SAMPLES)`,
  );
  if (wants('redis')) {
    const r = await measure('redis');
    line('Stem on Redis', r);
    console.log(`  targets: ≥ 5,000/s ${r.rate >= 5_000 ? 'met' : 'missed'}; p50 < 5 ms ${r.p50 < 5 ? 'met' : 'missed'}`);
  }
  const p = wants('postgres') ? await measure('postgres') : undefined;
  if (p) line('Stem on Postgres', p);
  const d = wants('dbos') ? await measure('dbos') : undefined;
  if (d) line('DBOS Transact on Postgres', d);
  if (p && d) {
    console.log(`  Stem/DBOS on Postgres: ${(p.rate / d.rate).toFixed(1)}x throughput, p50 ${(d.p50 / p.p50).toFixed(1)}x lower`);
    console.log(`  targets: ≥ 10x DBOS ${p.rate >= 10 * d.rate ? 'met' : 'missed'}; ≥ 2,000/s ${p.rate >= 2_000 ? 'met' : 'missed'}; p50 < 15 ms ${p.p50 < 15 ? 'met' : 'missed'}`);
  }
}
