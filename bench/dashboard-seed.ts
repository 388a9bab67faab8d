import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';

/** How many finished statuses the dashboard bench seeds, and over how many queues. */
export interface SeedPlan {
  readonly finished: number;
  readonly queues: readonly string[];
  /** Every this-many-th finished status is `failed` (the rest `succeeded`). */
  readonly failedEvery: number;
  /** Finished statuses are spread over this many ms before now. */
  readonly spreadMs: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A uuid-shaped id (random), as task ids look. */
function taskId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Writes finished statuses in the Redis result backend's own layout (status HASH with args,
 * per-queue and per-state listing ZSETs, id index, queue names SET, finished counts per minute),
 * a chunk of ids per script call.
 *
 * ARGV[1] key prefix, ARGV[2] now ms, ARGV[3] spread ms, ARGV[4] failed every, ARGV[5] first
 * ordinal, ARGV[6] queue count, ARGV[7..6+queues] queue names, then the ids.
 */
const SEED_REDIS_LUA = `
local p, now, spread, every, first, nq = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local base = p .. ':{results}:idx:'
local tp = {}
for i = 7 + nq, #ARGV do
  local n = first + i - 7 - nq
  local id = ARGV[i]
  local queue = ARGV[7 + (n % nq)]
  local state = (n % every == 0) and 'failed' or 'succeeded'
  local at = now - math.floor((n * 7919) % spread)
  local key = p .. ':result:{' .. id .. '}'
  redis.call('HSET', key, 'state', state, 'attempt', '0', 'updatedAt', at, 'createdAt', at - 40,
    'payload', state == 'succeeded' and '{"ok":true}' or '', 'error', state == 'failed' and '{"type":"Error","message":"boom","retryable":false}' or '',
    'name', 'orders.process', 'queue', queue, 'args', '{"orderId":' .. n .. ',"customer":"c-' .. (n % 1000) .. '"}', 'argsTruncated', '')
  redis.call('PEXPIRE', key, 86400000)
  redis.call('ZADD', base .. 'queue:' .. queue, at, id)
  redis.call('ZADD', base .. 'state:' .. state .. ':' .. queue, at, id)
  redis.call('ZADD', base .. 'ids', 0, id)
  local minute = at - at % 60000
  local f = string.sub(state, 1, 1)
  local k = minute .. '/' .. f .. '|' .. queue
  tp[k] = (tp[k] or 0) + 1
  k = minute .. '/' .. f
  tp[k] = (tp[k] or 0) + 1
end
for k, n in pairs(tp) do
  local minute, field = string.match(k, '^(%d+)/(.*)$')
  redis.call('HINCRBY', base .. 'tp:' .. minute, field, n)
  redis.call('PEXPIRE', base .. 'tp:' .. minute, 90000000)
end
for q = 1, nq do redis.call('SADD', base .. 'queues', ARGV[6 + q]) end
return #ARGV - 6 - nq
`;

/** Seeds `plan.finished` statuses under `prefix`, printing progress; returns a few of the ids. */
export async function seedRedis(redis: Redis, prefix: string, plan: SeedPlan): Promise<string[]> {
  const chunk = 5_000;
  const started = Date.now();
  const samples: string[] = [];
  const now = Date.now();
  let inFlight: Promise<unknown>[] = [];
  for (let first = 0; first < plan.finished; first += chunk) {
    const ids = Array.from({ length: Math.min(chunk, plan.finished - first) }, taskId);
    samples.push(ids[0]!);
    inFlight.push(redis.eval(SEED_REDIS_LUA, 0, prefix, now, plan.spreadMs, plan.failedEvery, first, plan.queues.length, ...plan.queues, ...ids));
    if (inFlight.length === 4) {
      await Promise.all(inFlight);
      inFlight = [];
    }
    if ((first + chunk) % 100_000 === 0) console.log(`  ... redis: ${fmt(first + chunk)} statuses seeded (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  await Promise.all(inFlight);
  console.log(`  ... redis: ${fmt(plan.finished)} statuses seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return samples;
}

/**
 * Inserts finished statuses into a migrated Postgres schema with `generate_series` (100,000 rows
 * per statement, through the counting triggers like any write), then VACUUM ANALYZE as autovacuum
 * would after a load. Returns a few of the ids.
 */
export async function seedPostgres(pool: pg.Pool, schema: string, plan: SeedPlan): Promise<string[]> {
  const chunk = 100_000;
  const started = Date.now();
  const s = `"${schema}"`;
  for (let first = 0; first < plan.finished; first += chunk) {
    const last = Math.min(plan.finished, first + chunk) - 1;
    await pool.query(
      `INSERT INTO ${s}.results (id, state, name, queue, attempt, payload, error, meta, args, created_at, updated_at, expires_at)
       SELECT md5(n::text || $1)::uuid::text,
              CASE WHEN n % $2 = 0 THEN 'failed' ELSE 'succeeded' END,
              'orders.process', ($3::text[])[1 + n % array_length($3::text[], 1)], 0,
              CASE WHEN n % $2 = 0 THEN NULL ELSE '{"ok":true}'::json END,
              CASE WHEN n % $2 = 0 THEN '{"type":"Error","message":"boom","retryable":false}'::json END,
              '{}'::jsonb, jsonb_build_object('orderId', n, 'customer', 'c-' || (n % 1000)),
              now() - ((n::bigint * 7919) % $4) * interval '1 millisecond' - interval '40 milliseconds',
              now() - ((n::bigint * 7919) % $4) * interval '1 millisecond',
              now() + interval '1 day'
       FROM generate_series($5::int, $6::int) AS n`,
      [schema, plan.failedEvery, plan.queues, plan.spreadMs, first, last],
    );
    console.log(`  ... postgres: ${fmt(last + 1)} statuses seeded (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  await pool.query(`VACUUM ANALYZE ${s}.results`);
  console.log(`  ... postgres: ${fmt(plan.finished)} statuses seeded and analysed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const { rows } = await pool.query<{ id: string }>(`SELECT md5(n::text || $1)::uuid::text AS id FROM generate_series(0, $2::int, 50000) AS n`, [schema, plan.finished - 1]);
  return rows.map((r) => r.id);
}
