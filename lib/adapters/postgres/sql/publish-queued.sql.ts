import { notifyFrom, upsertStatusesCte } from './results.sql.js';

/**
 * Inserts jobs and writes their `queued` statuses in one statement, so both commit together (or
 * neither does) in one round trip: $1..$11 the statuses as in `upsertStatuses` with
 * `unlessTerminal` (a live terminal status stays as it is), $12..$18 the jobs as $1..$7 of
 * `insertJobs`. NOTIFYs each queue once on the jobs channel and each watched status on the
 * results channel, and records new queue names in `queues`. `jobs` is the quoted schema of the jobs table, `results` that of the statuses.
 */
export const publishQueued = (jobs: string, jobsChannel: string, results: string, resultsChannel: string) => `
WITH ${upsertStatusesCte(results, { unlessTerminal: true })},
ins AS (
  INSERT INTO ${jobs}.jobs (task_id, queue, priority, run_at, attempt, visibility_ms, envelope)
  SELECT t.task_id, t.queue, t.priority,
         coalesce(to_timestamp(t.not_before / 1000.0), now()), t.attempt, t.visibility_ms, t.envelope::json
  FROM unnest($12::text[], $13::text[], $14::int[], $15::float8[], $16::int[], $17::int[], $18::text[])
       WITH ORDINALITY AS t(task_id, queue, priority, not_before, attempt, visibility_ms, envelope, ord)
  ORDER BY t.ord
  RETURNING queue
), reg AS (
  INSERT INTO ${jobs}.queues (name) SELECT DISTINCT queue FROM ins ON CONFLICT DO NOTHING
)${notifyFrom(results, resultsChannel)}
UNION ALL
SELECT pg_notify('${jobsChannel}', q.queue) FROM (SELECT DISTINCT queue FROM ins) q`;
