import { notifyFrom, upsertStatusesCte } from './results.sql.js';

/**
 * The envelopes of $1 (one JSON array text; each element is stored as it was sent) with their
 * 1-based position and the fields the job and status rows are made of, parsed once. Reading a
 * field de-escapes the whole text, which fails on an escape Postgres text cannot hold (U+0000,
 * a lone surrogate) anywhere in it; for such an envelope $7 (json[], null elsewhere) holds the
 * fields read, without the ones that carry the escape.
 */
const ENVELOPES = `src AS MATERIALIZED (
  SELECT a.ord::int AS ord, a.env, f.fields, e.id, e.name, e.queue, e.priority, e.attempt, e."notBefore" AS not_before,
         e."visibilityTimeout" AS visibility, e.meta
  FROM json_array_elements($1::json) WITH ORDINALITY AS a(env, ord),
       LATERAL (SELECT coalesce(($7::json[])[a.ord::int], a.env) AS fields) f,
       LATERAL json_to_record(f.fields) AS e(id text, name text, queue text, priority float8, attempt int, "notBefore" float8,
                                             "visibilityTimeout" float8, meta jsonb)
)`;

/**
 * The `queued` statuses: attempt 0, the envelope's name, queue and meta; its args when recorded.
 * $2 TTL ms, $3 TTL ms per envelope (float8[]; null: $2 for all), $4 sizes of args too large to
 * record per envelope (int[]; null, or a null element: the envelope's args are recorded when $5),
 * $5 whether args are recorded at all, $6 positions whose status is not written (a later
 * envelope of the batch has the same id).
 */
const QUEUED_STATUSES = `SELECT s.id, 'queued', s.name, s.queue, 0, NULL::json, NULL::json, coalesce(s.meta, '{}'::jsonb),
         now(), now(), now() + coalesce(($3::float8[])[s.ord], $2::float8) * interval '1 millisecond',
         CASE WHEN $5::boolean AND ($4::int[])[s.ord] IS NULL THEN (s.fields -> 'args')::jsonb END, ($4::int[])[s.ord]
  FROM src s
  WHERE s.ord <> ALL($6::int[])`;

/**
 * Inserts jobs and writes their `queued` statuses in one statement, so both commit together (or
 * neither does) in one round trip. $1 is the envelopes as one JSON array, in call order; the job
 * columns (task id, queue, priority clamped to 0–9, `notBefore`, attempt, `visibilityTimeout`
 * rounded) and the statuses ($2..$7, see above) are read from it, so each value is sent once.
 * A live terminal status stays as it is (`unlessTerminal`). NOTIFYs each queue once on the jobs
 * channel and each watched status on the results channel, and records new queue names in
 * `queues`. `jobs` is the quoted schema of the jobs table, `results` that of the statuses.
 */
export const publishQueued = (jobs: string, jobsChannel: string, results: string, resultsChannel: string) => `
WITH ${ENVELOPES},
${upsertStatusesCte(results, { unlessTerminal: true }, QUEUED_STATUSES)},
ins AS (
  INSERT INTO ${jobs}.jobs (task_id, queue, priority, run_at, attempt, visibility_ms, envelope)
  SELECT s.id, s.queue, least(9, greatest(0, trunc(coalesce(s.priority, 0)))),
         coalesce(to_timestamp(s.not_before / 1000.0), now()), s.attempt, floor(s.visibility + 0.5)::int, s.env
  FROM src s
  ORDER BY s.ord
  RETURNING queue
), reg AS (
  INSERT INTO ${jobs}.queues (name) SELECT DISTINCT queue FROM ins ON CONFLICT DO NOTHING
)${notifyFrom(results, resultsChannel)}
UNION ALL
SELECT pg_notify('${jobsChannel}', q.queue) FROM (SELECT DISTINCT queue FROM ins) q`;
