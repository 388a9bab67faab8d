import pg from 'pg';
import { StemWorkflowApp } from '../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresWorkflowStore } from '../lib/adapters/postgres/index.js';
import { RedisStreamsBroker, RedisWorkflowStore } from '../lib/adapters/redis/index.js';
import { RedisConnection } from '../lib/adapters/redis/redis.connection.js';
import { scripts } from '../lib/adapters/redis/scripts/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { dropSchema, threeStepWorkflow } from './fixtures/three-steps.js';

const REDIS_URL = process.env.STEM_BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Counts the requests one 3-step workflow costs, start to completion seen by the waiter, on the
 * Redis and the Postgres stores (every pg statement, every Redis command or script call), with
 * the workflow store's share apart from the broker's (whose polls vary with timing). The due-run
 * sweeper is off, so the count is the run's own. Run with `node dist/bench/workflow-round-trips.js`
 * after `npm run build` (or `node --import ./test/support/register-ts.mjs bench/workflow-round-trips.ts`).
 */
type Counts = Record<string, number>;
const counts: Counts = {};
const bump = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
const snapshot = (): Counts => ({ ...counts });
const diff = (a: Counts, b: Counts): [string, number][] =>
  Object.entries(b)
    .map(([k, n]) => [k, n - (a[k] ?? 0)] as [string, number])
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every statement any pg client sends (pool queries included), keyed by its first words. */
function probePostgres(): void {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === 'string' ? first : (first?.text ?? '')).replace(/\s+/g, ' ').trim();
    bump(`${/\.workflow_(runs|steps|watchers|signals)\b|^SELECT pg_notify\(\$1, \$2\)$|^(BEGIN|COMMIT)$/.test(text) ? 'pg store' : 'pg'}: ${text.slice(0, 70)}`);
    return query.apply(this, args);
  };
}

/** Every request on a Redis connection: commands, and script calls by script name. */
function probeRedis(): void {
  const names = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));
  const proto = RedisConnection.prototype as unknown as Record<'command' | 'blocking', (...args: unknown[]) => unknown>;
  const command = proto.command;
  proto.command = function (this: unknown, ...args: unknown[]) {
    bump(`redis: ${args[0] === 'evalsha' ? (names.get(String(args[1])) ?? 'script') : String(args[0])}`);
    return command.apply(this, args);
  };
  const blocking = proto.blocking;
  proto.blocking = function (this: unknown, ...args: unknown[]) {
    bump(`redis: ${String(args[1])} (blocking)`);
    return blocking.apply(this, args);
  };
}

/** A request of the workflow store: its scripts and index commands, its statements and transactions (the broker's are the rest). */
function isStoreRequest(key: string): boolean {
  return /^redis: (wf-|zadd|zrem|publish|sadd|unlink)/.test(key) || key.startsWith('pg store: ');
}

const threeSteps = threeStepWorkflow('rt.three');

/** Requests for one 3-step run, start → complete, on an idle worker (the waiter included). */
async function measure(label: string, app: StemWorkflowApp): Promise<void> {
  for (let i = 0; i < 3; i++) await app.waitForCompletion(await app.startWorkflow('rt.three', { i }), { timeout: '30s' });
  await sleep(500);
  const before = snapshot();
  const id = await app.startWorkflow('rt.three', { i: 9 });
  const afterStart = snapshot();
  await app.waitForCompletion(id, { timeout: '30s' });
  await sleep(200);
  const after = snapshot();
  const start = diff(before, afterStart);
  const all = diff(before, after);
  const total = all.reduce((n, [, c]) => n + c, 0);
  const store = all.filter(([k]) => isStoreRequest(k)).reduce((n, [, c]) => n + c, 0);
  console.log(`${label}: ${total} requests, ${store} of them to the workflow store (start: ${start.reduce((n, [, c]) => n + c, 0)})`);
  for (const [k, n] of all) console.log(`  ${String(n).padStart(3)}  ${k}`);
  await measureBurst(label, app, 200);
}

/** Requests per run when `runs` runs start at once and are waited for together (the store and the broker batch what concurrent runs ask for). */
async function measureBurst(label: string, app: StemWorkflowApp, runs: number): Promise<void> {
  const before = snapshot();
  const ids = await Promise.all(Array.from({ length: runs }, (_, i) => app.startWorkflow('rt.three', { i })));
  await Promise.all(ids.map((id) => app.waitForCompletion(id, { timeout: '30s' })));
  await sleep(200);
  const all = diff(before, snapshot());
  const total = all.reduce((n, [, c]) => n + c, 0);
  const store = all.filter(([k]) => isStoreRequest(k)).reduce((n, [, c]) => n + c, 0);
  console.log(`${label}, ${runs} runs at once: ${(total / runs).toFixed(2)} requests per run, ${(store / runs).toFixed(2)} of them to the workflow store`);
  for (const [k, n] of all) console.log(`  ${String(n).padStart(4)}  ${k}`);
}

probePostgres();
probeRedis();
const prefix = `rt-wf-${Math.random().toString(16).slice(2, 8)}`;
const redisApp = await StemWorkflowApp.create(
  { broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), store: await RedisWorkflowStore.connect(REDIS_URL, { prefix }) },
  { scripts: [threeSteps], concurrency: 4, sweepInterval: 0 },
);
try {
  await measure('redis', redisApp);
} finally {
  await redisApp.shutdown();
  await deleteKeys(REDIS_URL, prefix);
}
const schema = `rt_wf_${Math.random().toString(16).slice(2, 8)}`;
const options = { schema, logger: { info: () => undefined, warn: (m: string) => console.warn(m) } };
const pgApp = await StemWorkflowApp.create(
  { broker: await PostgresBroker.connect(PG_URL, options), store: await PostgresWorkflowStore.connect(PG_URL, options) },
  { scripts: [threeSteps], concurrency: 4, sweepInterval: 0 },
);
try {
  await measure('postgres', pgApp);
} finally {
  await pgApp.shutdown();
  await dropSchema(PG_URL, schema);
}
