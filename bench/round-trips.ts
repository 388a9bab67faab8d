import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type pg from 'pg';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { RedisConnection } from '../lib/adapters/redis/redis.connection.js';
import { scripts } from '../lib/adapters/redis/scripts/index.js';
import { type Broker, type ResultBackend, SimpleTaskRegistry, Stem, Worker } from '../lib/core/index.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.STEM_BENCH_POSTGRES_URL ?? process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BULK = 1_000;

type Counts = Record<string, number>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const total = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
const show = (c: Counts) =>
  `${total(c)} (${Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')})`;

interface Probe {
  snapshot(): Promise<Counts>;
  /** Socket writes so far (system calls that send requests), where the probe counts them. */
  writes?(): number;
}

/**
 * Redis: every request the adapters send (commands and script calls, by script name; a script's
 * inner commands run on the server and cost no round trip), counted on the connection class.
 */
function redisProbe(): Probe {
  const counts: Counts = {};
  const names = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));
  const proto = RedisConnection.prototype as unknown as Record<'command' | 'blocking', (...args: unknown[]) => unknown>;
  const count = (name: string, first: unknown) => {
    const key = name === 'evalsha' ? `${names.get(String(first)) ?? 'script'}` : name;
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const command = proto.command;
  proto.command = function (this: unknown, ...args: unknown[]) {
    count(String(args[0]), args[1]);
    return command.apply(this, args);
  };
  const blocking = proto.blocking;
  proto.blocking = function (this: unknown, ...args: unknown[]) {
    count(`${String(args[1])} (blocking)`, undefined);
    return blocking.apply(this, args);
  };
  // NOTE: auto-pipelined commands share a socket write; `_writeGeneric` (a Node internal, fine
  // for a bench) sees each write once, corked or not. Shown apart, not summed.
  let writes = 0;
  const socket = net.Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
  const write = socket._writeGeneric;
  socket._writeGeneric = function (this: unknown, ...args: unknown[]) {
    writes++;
    return write.apply(this, args);
  };
  return { snapshot: () => Promise.resolve({ ...counts }), writes: () => writes };
}

/** Postgres: every `query` call on the pools of the broker and the backend (one round trip each). */
function pgProbe(pools: pg.Pool[]): Probe {
  const counts: Counts = {};
  for (const pool of new Set(pools)) {
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { name?: string; text?: string };
      const text = typeof first === 'string' ? first : (first.text ?? '');
      const key = /^\s*(WITH\s+\w+\s+AS\s+\(\s*)?(\w+(\s+INTO\s+[\w.]+|\s+FROM\s+[\w.]+\(?|\s+[\w.]+)?)/i.exec(text)?.[2]?.replace(/\s+/g, ' ') ?? 'query';
      counts[key] = (counts[key] ?? 0) + 1;
      return query(...args);
    };
  }
  return { snapshot: () => Promise.resolve({ ...counts }) };
}

const diff = (a: Counts, b: Counts): Counts => Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - (a[k] ?? 0)]));

/**
 * Counts the requests each operation sends (Redis commands, Postgres statements): one enqueue,
 * a bulk enqueue of 1,000, and fetch + run + ack of one task on an otherwise idle worker.
 * Sequential operations pay one round trip per request; run with `node dist/bench/round-trips.js`.
 */
async function measure(label: string, broker: Broker, backend: ResultBackend, probe: Probe): Promise<void> {
  let started = () => {};
  const registry = new SimpleTaskRegistry([{ name: 'noop', call: (_ctx, args: { i: number }) => args.i }]);
  const stem = new Stem({ broker, backend, registry });
  const queue = `rt-${randomBytes(3).toString('hex')}`;
  await stem.enqueue('noop', { i: 0 }, { queue });
  const writes = () => probe.writes?.() ?? 0;
  let a = await probe.snapshot();
  let w = writes();
  await stem.enqueue('noop', { i: 1 }, { queue });
  const one = diff(a, await probe.snapshot());
  const oneWrites = writes() - w;
  a = await probe.snapshot();
  w = writes();
  await stem.enqueueMany(Array.from({ length: BULK }, (_, i) => ({ name: 'noop', args: { i }, options: { queue } })));
  const bulk = diff(a, await probe.snapshot());
  const bulkWrites = writes() - w;
  await broker.purge?.(queue);
  const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 1 });
  worker.signals.on('task-succeeded', () => started());
  await worker.start();
  await sleep(300);
  const done = new Promise<void>((resolve) => (started = resolve));
  await stem.enqueue('noop', { i: 2 }, { queue });
  const mid = await probe.snapshot();
  w = writes();
  await done;
  await sleep(100);
  const run = diff(mid, await probe.snapshot());
  const runWrites = writes() - w;
  await worker.close();
  const sent = (n: number) => (probe.writes ? `; ${n} socket write${n === 1 ? '' : 's'}` : '');
  console.log(
    `${label}\n  enqueue one:            ${show(one)}${sent(oneWrites)}\n  enqueue bulk of ${BULK}:  ${show(bulk)}${sent(bulkWrites)}\n  fetch + run + ack one:  ${show(run)}${sent(runWrites)}`,
  );
}

const prefix = `rt-${randomBytes(3).toString('hex')}`;
const rb = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
const rr = await RedisResultBackend.connect(REDIS_URL, { prefix });
try {
  await measure('redis (requests)', rb, rr, redisProbe());
} finally {
  await rb.close();
  await rr.close();
  await deleteKeys(REDIS_URL, prefix);
}
const schema = `rt_${randomBytes(3).toString('hex')}`;
const pb = await PostgresBroker.connect(PG_URL, { schema });
const pr = await PostgresResultBackend.connect(PG_URL, { schema });
try {
  await measure('postgres (statements)', pb, pr, pgProbe([pb.pool, (pr as unknown as { ctx: { pool: pg.Pool } }).ctx.pool]));
} finally {
  await pb.pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pb.close();
  await pr.close();
}
