import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { type Broker, type ResultBackend, SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';

/**
 * What each task costs the servers and the client, by path (one-by-one enqueue, bulk enqueue,
 * draining a backlog at concurrency 50), Stem against BullMQ on Redis and graphile-worker on
 * Postgres. Figures are per 10,000 tasks and do not depend on how busy the machine is:
 *
 * - Redis: commands the server executed (script-internal ones included, from INFO commandstats)
 *   and server CPU (INFO cpu), on a server of its own (`COST_REDIS_URL`: nothing else may use it).
 * - Postgres: WAL bytes written, rows inserted/updated/deleted, and the CPU of every server
 *   process (read from /proc, so the server must run on this machine and serve nothing else:
 *   `COST_POSTGRES_URL`, `COST_POSTGRES_PID` = its postmaster pid).
 * - Both: client CPU of this process (process.cpuUsage).
 *
 * Run with `node dist/bench/server-cost.js [redis] [postgres]`.
 */
const REDIS_URL = process.env.COST_REDIS_URL ?? 'redis://127.0.0.1:6390';
const PG_URL = process.env.COST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5439/test';
const PG_PID = Number(process.env.COST_POSTGRES_PID ?? 0);
const N = Number(process.env.COST_TASKS ?? 10_000);
const SINGLE = Number(process.env.COST_SINGLE ?? 3_000);
const CONCURRENCY = 50;
const BATCH = 1_000;
const PER = 10_000;
/** `COST_RECORD_ARGS=0` builds Stem's result backends with `recordArgs: false` (to see what recording costs). */
const RECORD_ARGS = process.env.COST_RECORD_ARGS !== '0';
/** Wait before reading Postgres counters (row counts need ~11 s; WAL and CPU are read at once). */
const PG_SETTLE_MS = Number(process.env.COST_PG_SETTLE_MS ?? 11_000);

type Figures = Record<string, number>;
interface Meter {
  read(): Promise<Figures>;
}
interface Side {
  readonly name: string;
  enqueueOne(i: number): Promise<void>;
  enqueueBulk(count: number): Promise<void>;
  /** Drains what is queued at concurrency 50; resolves when `count` tasks succeeded. */
  drain(count: number): Promise<void>;
  close(): Promise<void>;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function redisMeter(redis: Redis): Meter {
  return {
    async read() {
      const out: Figures = {};
      const stats = await redis.info('commandstats');
      for (const m of stats.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) if (m[1] !== 'info') out[`cmd ${m[1]}`] = Number(m[2]);
      const cpu = await redis.info('cpu');
      const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
      const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
      out['server cpu ms'] = (user + sys) * 1000;
      out['client cpu ms'] = cpuMs();
      return out;
    },
  };
}

/** CPU ms of the postmaster and every process it started (backends, WAL writer, checkpointer, ...). */
function pgServerCpuMs(): number {
  if (!PG_PID) return NaN;
  const tick = 10; // USER_HZ = 100 on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    if (Number(entry) !== PG_PID && ppid !== PG_PID) continue;
    // utime, stime, and the CPU of children already reaped (backends that exited)
    total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * tick;
  }
  return total;
}

function pgMeter(pool: pg.Pool, schemas: string[]): Meter {
  return {
    async read() {
      const { rows } = await pool.query<{ wal: string; ins: string; upd: string; del: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS wal,
                coalesce(sum(n_tup_ins), 0)::text AS ins, coalesce(sum(n_tup_upd), 0)::text AS upd, coalesce(sum(n_tup_del), 0)::text AS del
         FROM pg_stat_user_tables WHERE schemaname = ANY($1)`,
        [schemas],
      );
      const r = rows[0]!;
      return {
        'wal bytes': Number(r.wal),
        'rows inserted': Number(r.ins),
        'rows updated': Number(r.upd),
        'rows deleted': Number(r.del),
        'server cpu ms': pgServerCpuMs(),
        'client cpu ms': cpuMs(),
      };
    },
  };
}

async function phase(meter: Meter, count: number, work: () => Promise<void>, settle?: () => Promise<void>): Promise<Figures> {
  await settle?.();
  const a = await meter.read();
  await work();
  await settle?.();
  const b = await meter.read();
  const out: Figures = {};
  for (const k of Object.keys(b)) {
    const d = b[k]! - (a[k] ?? 0);
    if (d !== 0) out[k] = (d / count) * PER;
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function print(title: string, sides: string[], results: Figures[]): void {
  console.log(`\n${title} (per ${PER.toLocaleString('en-US')} tasks)`);
  const keys = [...new Set(results.flatMap((r) => Object.keys(r)))].sort((a, b) => {
    const rank = (k: string) => (k.startsWith('cmd ') ? 2 : k.endsWith('cpu ms') ? 0 : 1);
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  const sum = (r: Figures) => Object.entries(r).reduce((n, [k, v]) => n + (k.startsWith('cmd ') ? v : 0), 0);
  const cell = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US')).padStart(14);
  console.log(`  ${''.padEnd(28)}${sides.map((s) => s.padStart(14)).join('')}`);
  if (keys.some((k) => k.startsWith('cmd '))) console.log(`  ${'commands executed'.padEnd(28)}${results.map((r) => cell(sum(r))).join('')}`);
  for (const k of keys) console.log(`  ${k.padEnd(28)}${results.map((r) => cell(r[k])).join('')}`);
}

async function measureSides(label: string, sides: Side[], meter: Meter, settle: () => Promise<void>): Promise<void> {
  const one: Figures[] = [];
  const bulk: Figures[] = [];
  const drain: Figures[] = [];
  for (const side of sides) {
    one.push(
      await phase(
        meter,
        SINGLE,
        async () => {
          for (let i = 0; i < SINGLE; i++) await side.enqueueOne(i);
        },
        settle,
      ),
    );
    await side.drain(SINGLE);
    bulk.push(await phase(meter, N, () => side.enqueueBulk(N), settle));
    drain.push(await phase(meter, N, () => side.drain(N), settle));
  }
  const names = sides.map((s) => s.name);
  print(`${label}: one-by-one enqueue (awaiting each)`, names, one);
  print(`${label}: bulk enqueue (batches of ${BATCH})`, names, bulk);
  print(`${label}: draining the backlog at concurrency ${CONCURRENCY} (results kept)`, names, drain);
}

/** The Stem side over a broker and backend: enqueue one by one, in bulk, and drain with a worker. */
function stemSide(broker: Broker, backend: ResultBackend): Side {
  const registry = new SimpleTaskRegistry([{ name: 'noop', call: (_ctx, args: { i: number }) => args.i }]);
  const stem = new Stem({ broker, backend, registry });
  return {
    name: RECORD_ARGS ? 'stem' : 'stem no-args',
    enqueueOne: (i) => stem.enqueue('noop', { i }, { queue: 'cost' }).then(() => undefined),
    async enqueueBulk(count) {
      for (let i = 0; i < count; i += BATCH) {
        await stem.enqueueMany(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', args: { i: i + j }, options: { queue: 'cost' } })));
      }
    },
    async drain(count) {
      let done = 0;
      let finished!: () => void;
      const all = new Promise<void>((resolve) => (finished = resolve));
      const worker = new Worker({ broker, backend, registry, queues: ['cost'], concurrency: CONCURRENCY });
      worker.signals.on('task-succeeded', () => void (++done === count && finished()));
      await worker.start();
      await all;
      await worker.close();
    },
    async close() {
      await broker.close();
      await backend.close();
    },
  };
}

async function stemRedis(prefix: string): Promise<Side> {
  const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
  const backend = await RedisResultBackend.connect(REDIS_URL, { prefix, recordArgs: RECORD_ARGS });
  return stemSide(broker, backend);
}

async function bullRedis(prefix: string): Promise<Side> {
  const { hostname, port } = new URL(REDIS_URL);
  const connection = { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('cost', { connection, prefix });
  await queue.waitUntilReady();
  return {
    name: 'bullmq',
    enqueueOne: (i) => queue.add('noop', { i }).then(() => undefined),
    async enqueueBulk(count) {
      for (let i = 0; i < count; i += BATCH) await queue.addBulk(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })));
    },
    async drain(count) {
      let done = 0;
      let finished!: () => void;
      const all = new Promise<void>((resolve) => (finished = resolve));
      const worker = new BullWorker('cost', async (job) => (job.data as { i: number }).i, { connection, prefix, concurrency: CONCURRENCY });
      worker.on('completed', () => void (++done === count && finished()));
      await worker.waitUntilReady();
      await all;
      await worker.close();
    },
    close: () => queue.close(),
  };
}

async function redisCost(): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const admin = new Redis(REDIS_URL);
  const sides = [await stemRedis(`cost-stem-${tag}`), await bullRedis(`cost-bull-${tag}`)];
  try {
    await measureSides('redis', sides, redisMeter(admin), () => sleep(200).then(() => undefined));
  } finally {
    for (const side of sides) await side.close();
    await deleteKeys(REDIS_URL, `cost-stem-${tag}`);
    await deleteKeys(REDIS_URL, `cost-bull-${tag}`);
    admin.disconnect();
  }
}

async function stemPostgres(schema: string): Promise<Side> {
  const quiet = { info: () => undefined, warn: (m: string) => console.warn(m) };
  const options = { schema, logger: quiet, pool: { max: 10 } };
  const broker = await PostgresBroker.connect(PG_URL, options);
  const backend = await PostgresResultBackend.connect(PG_URL, { ...options, recordArgs: RECORD_ARGS });
  return stemSide(broker, backend);
}

async function graphilePostgres(schema: string): Promise<Side> {
  const quiet = new GraphileLogger(() => (level: string, message: string) => {
    if (level === 'error') console.error(message);
  });
  const utils = await makeWorkerUtils({ connectionString: PG_URL, schema, logger: quiet });
  await utils.migrate();
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  return {
    name: 'graphile',
    enqueueOne: (i) => utils.addJob('noop', { i }).then(() => undefined),
    async enqueueBulk(count) {
      for (let i = 0; i < count; i += BATCH) {
        const specs = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({ identifier: 'noop', payload: { i: i + j } }));
        await pool.query(`SELECT ${schema}.add_jobs(array(SELECT json_populate_recordset(null::${schema}.job_spec, $1::json)))`, [JSON.stringify(specs)]);
      }
    },
    async drain(count) {
      let done = 0;
      let finished!: () => void;
      const all = new Promise<void>((resolve) => (finished = resolve));
      const runner = await runGraphile({
        connectionString: PG_URL,
        schema,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger: quiet,
        taskList: { noop: async () => void (++done === count && finished()) },
      });
      await all;
      await runner.stop();
    },
    async close() {
      await utils.release();
      await pool.end();
    },
  };
}

async function postgresCost(): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const schemas = [`cost_stem_${tag}`, `cost_graphile_${tag}`];
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const sides = [await stemPostgres(schemas[0]!), await graphilePostgres(schemas[1]!)];
  try {
    // NOTE: idle backends publish their table counters up to 10 s after their last transaction.
    await measureSides('postgres', sides, pgMeter(admin, schemas), async () => {
      await sleep(PG_SETTLE_MS);
      await admin.query('SELECT pg_stat_clear_snapshot()');
    });
  } finally {
    for (const side of sides) await side.close();
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

const wanted = process.argv.slice(2);
if (wanted.length === 0 || wanted.includes('redis')) await redisCost();
if (wanted.length === 0 || wanted.includes('postgres')) await postgresCost();
