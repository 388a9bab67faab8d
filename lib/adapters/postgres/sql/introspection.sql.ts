/**
 * Operations queries (migration 0008): queue list and counts on the jobs schema, counts by state,
 * finished tasks per minute, search and recorded arguments on the results schema.
 */

/** Records queue names $1 (text[]). */
export const registerQueues = (s: string) => `INSERT INTO ${s}.queues (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`;

/** Every known queue, by name. */
export const listQueues = (s: string) => `SELECT name FROM ${s}.queues ORDER BY name`;

/**
 * Counts of queue $1 in one pass over its rows of `jobs_claim_idx` (its backlog) and its dead
 * letters: ready (due, not leased), delayed, leased, dead, and when the oldest ready row became
 * ready (a lapsed lease: when it lapsed).
 */
export const queueStats = (s: string) => `
SELECT count(*) FILTER (WHERE j.ready)::int AS pending,
       count(*) FILTER (WHERE NOT j.ready AND NOT j.leased)::int AS delayed,
       count(*) FILTER (WHERE j.leased)::int AS inflight,
       (SELECT count(*) FROM ${s}.dead_letters d WHERE d.queue = $1)::int AS dead,
       (extract(epoch FROM min(j.ready_at) FILTER (WHERE j.ready)) * 1000)::float8 AS oldest_ms
FROM (
  SELECT run_at <= now() AND NOT leased AS ready, leased, greatest(run_at, coalesce(locked_until, run_at)) AS ready_at
  FROM (SELECT run_at, locked_until, coalesce(locked_until >= now(), false) AS leased FROM ${s}.jobs WHERE queue = $1) r
) j`;

/** Live statuses per state (shard rows summed), of queue $1 (null: all queues). */
export const countByState = (s: string) => `
SELECT state, sum(n)::float8 AS n FROM ${s}.result_counts WHERE $1::text IS NULL OR queue = $1 GROUP BY state`;

/** Finished tasks per minute and state from $1 to $2 (epoch ms), of queue $3 (null: all). */
export const throughput = (s: string) => `
SELECT (extract(epoch FROM minute) * 1000)::float8 AS minute_ms, state, sum(n)::float8 AS n
FROM ${s}.result_throughput
WHERE minute >= to_timestamp($1 / 1000.0) AND minute <= to_timestamp($2 / 1000.0) AND ($3::text IS NULL OR queue = $3)
GROUP BY 1, 2`;

/** One live status ($1) with its recorded args. */
export const getWithArgs = (s: string, columns: string) => `
SELECT ${columns}, args::text AS args, args_truncated FROM ${s}.results WHERE id = $1 AND expires_at > now()`;

/**
 * Folds counter shards of backends that are gone into shard 0 and deletes finished-task buckets
 * older than $1 (epoch ms).
 */
export const compactCounters = (s: string) => `
WITH gone AS (
  DELETE FROM ${s}.result_counts c
  WHERE c.shard <> 0 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.shard)
  RETURNING queue, state, n
), folded AS (
  INSERT INTO ${s}.result_counts AS c (queue, state, shard, n)
  SELECT queue, state, 0, sum(n) FROM gone GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + EXCLUDED.n
  RETURNING 1
)
DELETE FROM ${s}.result_throughput WHERE minute < to_timestamp($1 / 1000.0) AND (SELECT count(*) FROM folded) >= 0`;
