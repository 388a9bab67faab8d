import { notifyFrom, upsertStatusesCte } from './results.sql.js';

/**
 * Inserts jobs and writes their `queued` statuses in one statement, so both commit together (or
 * neither does) in one round trip: $1..$9 the statuses as in `upsertStatuses` with
 * `unlessTerminal` (a live terminal status stays as it is), $10..$16 the jobs as $1..$7 of
 * `insertJobs`. NOTIFYs each queue once on the jobs channel and each watched status on the
 * results channel. `jobs` is the quoted schema of the jobs table, `results` that of the statuses.
 */
export const publishQueued = (jobs: string, jobsChannel: string, results: string, resultsChannel: string) => `
WITH ${upsertStatusesCte(results, { unlessTerminal: true })},
ins AS (
  INSERT INTO ${jobs}.jobs (task_id, queue, priority, run_at, attempt, visibility_ms, envelope)
  SELECT t.task_id, t.queue, t.priority,
         coalesce(to_timestamp(t.not_before / 1000.0), now()), t.attempt, t.visibility_ms, t.envelope::json
  FROM unnest($10::text[], $11::text[], $12::int[], $13::float8[], $14::int[], $15::int[], $16::text[])
       WITH ORDINALITY AS t(task_id, queue, priority, not_before, attempt, visibility_ms, envelope, ord)
  ORDER BY t.ord
  RETURNING queue
)${notifyFrom(results, resultsChannel)}
UNION ALL
SELECT pg_notify('${jobsChannel}', q.queue) FROM (SELECT DISTINCT queue FROM ins) q`;
