/**
 * Statements on `jobs`. Each takes the quoted schema and, where it wakes consumers, the jobs
 * channel; parameters are listed per statement.
 */

/**
 * Inserts envelopes and NOTIFYs each queue once.
 * $1 task ids, $2 queues, $3 priorities, $4 notBefore epoch ms (null = now), $5 attempts,
 * $6 visibility ms (nullable), $7 envelope JSON texts. Returns nothing.
 */
export const insertJobs = (s: string, channel: string) => `
WITH ins AS (
  INSERT INTO ${s}.jobs (task_id, queue, priority, run_at, attempt, visibility_ms, envelope)
  SELECT t.task_id, t.queue, t.priority,
         coalesce(to_timestamp(t.not_before / 1000.0), now()), t.attempt, t.visibility_ms, t.envelope::json
  FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::int[], $6::int[], $7::text[])
       WITH ORDINALITY AS t(task_id, queue, priority, not_before, attempt, visibility_ms, envelope, ord)
  ORDER BY t.ord
  RETURNING queue
), reg AS (
  INSERT INTO ${s}.queues (name) SELECT DISTINCT queue FROM ins ON CONFLICT DO NOTHING
)
SELECT pg_notify('${channel}', q.queue) FROM (SELECT DISTINCT queue FROM ins) q`;

/**
 * Claims up to $2 due rows across queues $1 (text[]), highest priority first, FIFO by due time,
 * skipping rows other consumers hold locked; rows whose lease lapsed are claimable again.
 * $3 default lease ms, $4 consumer name. See `claim_jobs` in the 0001 migration.
 */
export const claimJobs = (s: string) => `SELECT * FROM ${s}.claim_jobs($1::text[], $2::int, $3::int, $4::text)`;

/**
 * Milliseconds until something in queues $1 may become claimable: the next delayed row or the
 * next lease to lapse (null when neither exists). Probes the claim index once per queue and
 * priority instead of scanning delayed rows.
 */
export const nextDueIn = (s: string) => `
SELECT (extract(epoch FROM (least(
  (SELECT min(x.run_at) FROM unnest($1::text[]) AS q(name), generate_series(0, 9) AS p(priority),
     LATERAL (SELECT run_at FROM ${s}.jobs WHERE queue = q.name AND priority = p.priority AND run_at > now()
              ORDER BY run_at LIMIT 1) x),
  (SELECT min(locked_until) FROM ${s}.jobs WHERE queue = ANY($1::text[]) AND run_at <= now() AND locked_until >= now())
) - now())) * 1000)::float8 AS wait_ms`;

/** Deletes the rows of deliveries still holding their lease. $1 row ids, $2 lease tokens. */
export const ackJobs = (s: string) => `
DELETE FROM ${s}.jobs j USING unnest($1::bigint[], $2::int[]) AS a(id, lease)
WHERE j.id = a.id AND j.lease = a.lease`;

/**
 * Sets a new lease deadline ($3 ms from now) if the delivery ($1 id, $2 lease) still holds the
 * row; returns the deadline in epoch ms, or no row when the lease was lost.
 */
export const extendLease = (s: string) => `
UPDATE ${s}.jobs SET locked_until = now() + $3 * interval '1 millisecond'
WHERE id = $1 AND lease = $2 AND locked_until IS NOT NULL
RETURNING (extract(epoch FROM locked_until) * 1000)::float8 AS locked_until_ms`;

/**
 * Puts a delivery back ($1 id, $2 lease), atomically replacing the envelope and its columns:
 * $3 priority, $4 attempt, $5 notBefore epoch ms (null = now), $6 visibility ms, $7 envelope
 * JSON. The row stays on its queue whatever the envelope says, so a requeue never moves work to a
 * queue nobody consumes. NOTIFYs the queue. A stale delivery changes nothing.
 */
export const requeueJob = (s: string, channel: string) => `
WITH up AS (
  UPDATE ${s}.jobs
  SET lease = lease + 1, locked_until = NULL, locked_by = NULL, priority = $3, attempt = $4,
      run_at = coalesce(to_timestamp($5::float8 / 1000.0), now()), visibility_ms = $6, envelope = $7::json
  WHERE id = $1 AND lease = $2 AND locked_until IS NOT NULL
  RETURNING queue
)
SELECT pg_notify('${channel}', queue) FROM up`;

/** Removes one ready or delayed row of a queue, never one in flight: `purge`. $1 queue. */
export const purgeJobs = (s: string) => `
DELETE FROM ${s}.jobs WHERE queue = $1 AND (locked_until IS NULL OR locked_until < now())`;

/** Ready rows of a queue ($1): due and not leased. */
export const countPending = (s: string) => `
SELECT count(*)::int AS n FROM ${s}.jobs
WHERE queue = $1 AND run_at <= now() AND (locked_until IS NULL OR locked_until < now())`;

/** Leased rows of a queue ($1). */
export const countInflight = (s: string) => `
SELECT count(*)::int AS n FROM ${s}.jobs WHERE queue = $1 AND locked_until >= now()`;
