/** Statements on `dead_letters`. Each takes the quoted schema. */

const ENTRY = `envelope::text AS envelope, reason, meta, (extract(epoch FROM dead_at) * 1000)::float8 AS dead_ms, task_id, queue`;

/**
 * Moves a delivery ($1 id, $2 lease) to the dead letters with $3 reason, $4 meta JSON and
 * $5 envelope JSON, recorded under the row's task id or $6 (when not null). A stale delivery
 * changes nothing.
 */
export const deadLetterJob = (s: string) => `
WITH gone AS (DELETE FROM ${s}.jobs WHERE id = $1 AND lease = $2 RETURNING task_id, queue)
INSERT INTO ${s}.dead_letters (task_id, queue, envelope, reason, meta)
SELECT coalesce($6::text, task_id), queue, $5::json, $3, $4::jsonb FROM gone`;

/** Deletes up to $2 dead letters (any queue) older than $1 ms, oldest first. */
export const sweepDeadLetters = (s: string) => `
DELETE FROM ${s}.dead_letters WHERE id IN (
  SELECT id FROM ${s}.dead_letters WHERE dead_at < now() - $1::float8 * interval '1 millisecond' ORDER BY dead_at LIMIT $2
)`;

/** One page of a queue's ($1) dead letters, newest first: $2 limit, $3 offset. */
export const listDeadLetters = (s: string) => `
SELECT ${ENTRY} FROM ${s}.dead_letters WHERE queue = $1 ORDER BY dead_at DESC, id DESC LIMIT $2 OFFSET $3`;

/** The newest dead letter of queue $1 for task id $2. */
export const getDeadLetter = (s: string) => `
SELECT ${ENTRY} FROM ${s}.dead_letters WHERE queue = $1 AND task_id = $2 ORDER BY dead_at DESC, id DESC LIMIT 1`;

/** The filters of a replay or purge: dead at or after $2 (epoch ms), task id in $4 (text[]), reason $5; null = any. */
const SELECTION = `queue = $1 AND ($2::float8 IS NULL OR dead_at >= to_timestamp($2::float8 / 1000.0))
  AND ($4::text[] IS NULL OR task_id = ANY($4::text[])) AND ($5::text IS NULL OR reason = $5::text)`;

/**
 * Oldest-first selection of a queue's ($1) dead letters matching the filters (see `SELECTION`),
 * at most $3; `FOR UPDATE SKIP LOCKED` so concurrent replays never take the same entry.
 */
export const selectDeadLettersForReplay = (s: string, lock: boolean) => `
SELECT id, ${ENTRY} FROM ${s}.dead_letters
WHERE ${SELECTION}
ORDER BY dead_at, id LIMIT $3${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`;

/** Deletes dead letters by row id ($1 bigint[]). */
export const deleteDeadLettersById = (s: string) => `DELETE FROM ${s}.dead_letters WHERE id = ANY($1::bigint[])`;

/** Deletes a queue's ($1) dead letters matching the filters (see `SELECTION`), oldest first, at most $3 (null = all). */
export const purgeDeadLetters = (s: string) => `
DELETE FROM ${s}.dead_letters WHERE id IN (
  SELECT id FROM ${s}.dead_letters
  WHERE ${SELECTION}
  ORDER BY dead_at, id LIMIT $3
  FOR UPDATE SKIP LOCKED
)`;
