/** Statements on the control tables. Each takes the quoted schema. */

/**
 * Upserts the revocations in $2 (a JSON array of `{task_id, version, expires_at, entry}`) into
 * namespace $1 where they are newer than the stored row; one row per affected task.
 */
export const upsertRevokes = (s: string) => `
INSERT INTO ${s}.control_revokes AS r (namespace, task_id, version, expires_at, entry)
SELECT $1, x.task_id, x.version, x.expires_at, x.entry FROM json_to_recordset($2::json) AS x(task_id text, version bigint, expires_at double precision, entry json)
ON CONFLICT (namespace, task_id) DO UPDATE SET version = EXCLUDED.version, expires_at = EXCLUDED.expires_at, entry = EXCLUDED.entry
WHERE r.version < EXCLUDED.version`;

/** Live revocations of namespace $1 at $2 epoch ms, by version. */
export const listRevokes = (s: string) => `
SELECT entry FROM ${s}.control_revokes WHERE namespace = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY version, task_id`;

/** Deletes revocations of namespace $1 expired at $2 epoch ms. */
export const pruneRevokes = (s: string) => `
DELETE FROM ${s}.control_revokes WHERE namespace = $1 AND expires_at IS NOT NULL AND expires_at <= $2`;

/** Stores the pause state $4 of queue $2 in namespace $1 if version $3 is newer. */
export const setQueuePause = (s: string) => `
INSERT INTO ${s}.control_queue_pauses AS p (namespace, queue, version, entry) VALUES ($1, $2, $3, $4)
ON CONFLICT (namespace, queue) DO UPDATE SET version = EXCLUDED.version, entry = EXCLUDED.entry
WHERE p.version < EXCLUDED.version`;

/** Pause states of namespace $1, by queue. */
export const listQueuePauses = (s: string) => `
SELECT entry FROM ${s}.control_queue_pauses WHERE namespace = $1 ORDER BY queue`;

/** Stores heartbeat $4 of worker $2 in namespace $1 for $3 ms, and drops expired heartbeats of the namespace. */
export const recordHeartbeat = (s: string) => `
WITH gone AS (DELETE FROM ${s}.control_workers WHERE namespace = $1 AND expires_at < now() AND worker_id <> $2)
INSERT INTO ${s}.control_workers AS w (namespace, worker_id, expires_at, heartbeat) VALUES ($1, $2, now() + $3 * interval '1 millisecond', $4)
ON CONFLICT (namespace, worker_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, heartbeat = EXCLUDED.heartbeat`;

/** Live heartbeats of namespace $1, by worker id. */
export const listHeartbeats = (s: string) => `
SELECT heartbeat FROM ${s}.control_workers WHERE namespace = $1 AND expires_at > now() ORDER BY worker_id`;

/** Forgets worker $2 of namespace $1. */
export const removeHeartbeat = (s: string) => `DELETE FROM ${s}.control_workers WHERE namespace = $1 AND worker_id = $2`;
