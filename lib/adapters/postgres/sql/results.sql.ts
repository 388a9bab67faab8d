/**
 * Statements on `results`. Every write NOTIFYs the results channel with the new statuses (see
 * `notifyFrom`), which is how `watch` works across processes.
 */

/** The columns a status is read from, by `get`, `listStatuses` and the NOTIFY payloads. */
export const STATUS = `id, state, name, queue, attempt, payload::text AS payload, error::text AS error, meta,
  progress::text AS progress, heartbeat_at,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM updated_at) * 1000)::float8 AS updated_ms`;

/**
 * NOTIFYs `<id>\t<status JSON>` for each row of the CTE `up` that some process watches (the JSON
 * is left empty above 7000 bytes; listeners then read the row). Unwatched writes notify nobody,
 * which keeps NOTIFY (a commit-time lock) off the hot path. `watched_ids` runs once, after `up`
 * (it aggregates over it), with a fresh snapshot.
 */
export const notifyFrom = (s: string, channel: string) => `,
watched AS (SELECT ${s}.watched_ids(array_agg(up.id)) AS ids FROM up)
SELECT pg_notify('${channel}', n.id || E'\t' || CASE WHEN octet_length(n.j) <= 7000 THEN n.j ELSE '' END)
FROM (
  SELECT w.id, row_to_json(w)::text AS j
  FROM (SELECT ${STATUS} FROM up, watched WHERE up.id = ANY(watched.ids)) w
) n`;

/**
 * Upserts statuses: $1 ids, $2 states, $3 names, $4 queues, $5 attempts, $6 payload JSON texts,
 * $7 error JSON texts, $8 meta JSON texts, $9 TTL ms, $10 recorded args JSON texts, $11 sizes of
 * args too large to record (both null: keep the recorded args). Meta is merged, name/queue kept when
 * absent, payload and error replaced (cleared when null), `created_at` kept; a row that already
 * expired is replaced as if new. Ids must be distinct within one call. With `unlessTerminal`, a live
 * row already `succeeded`, `failed` or `cancelled` is left as it is; with `unlessAttemptReached`, a
 * live row whose attempt is the written one or later (both checked on the row version the upsert
 * locks, so a write committed concurrently is never overwritten).
 */
export const upsertStatuses = (s: string, channel: string, guards: UpsertGuards = {}) => `
WITH ${upsertStatusesCte(s, guards)}${notifyFrom(s, channel)}`;

/** Which live rows an upsert leaves as they are. */
export interface UpsertGuards {
  readonly unlessTerminal?: boolean;
  readonly unlessAttemptReached?: boolean;
}

/** The `WHERE` of the upsert's `DO UPDATE`: an expired row is always replaced. */
function upsertGuard({ unlessTerminal = false, unlessAttemptReached = false }: UpsertGuards): string {
  const keep = [unlessTerminal ? `r.state NOT IN ('succeeded', 'failed', 'cancelled')` : '', unlessAttemptReached ? 'r.attempt < EXCLUDED.attempt' : ''].filter(Boolean);
  return keep.length ? `\n  WHERE r.expires_at <= now() OR (${keep.join(' AND ')})` : '';
}

/** The rows {@link upsertStatuses} writes, from its parameters $1..$11 (in the column order of the upsert). */
const UNNEST_STATUSES = `SELECT t.id, t.state, t.name, t.queue, t.attempt, t.payload::json, t.error::json, coalesce(t.meta::jsonb, '{}'::jsonb),
         now(), now(), now() + t.ttl_ms * interval '1 millisecond', t.args::jsonb, t.args_truncated
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::text[], $11::int[])
       AS t(id, state, name, queue, attempt, payload, error, meta, ttl_ms, args, args_truncated)`;

/**
 * The CTE `up` of {@link upsertStatuses} (parameters $1..$11 as there), for statements that
 * write statuses next to other rows; follow it with {@link notifyFrom}. `source` replaces the
 * rows written: a `SELECT` of id, state, name, queue, attempt, payload, error, meta (jsonb),
 * created_at, updated_at, expires_at, args (jsonb) and args_truncated, with distinct ids.
 */
export const upsertStatusesCte = (s: string, guards: UpsertGuards = {}, source = UNNEST_STATUSES) => `up AS (
  INSERT INTO ${s}.results AS r (id, state, name, queue, attempt, payload, error, meta, created_at, updated_at, expires_at, args, args_truncated)
  ${source}
  ON CONFLICT (id) DO UPDATE SET
    state = EXCLUDED.state,
    attempt = EXCLUDED.attempt,
    payload = EXCLUDED.payload,
    error = EXCLUDED.error,
    name = CASE WHEN r.expires_at <= now() THEN EXCLUDED.name ELSE coalesce(EXCLUDED.name, r.name) END,
    queue = CASE WHEN r.expires_at <= now() THEN EXCLUDED.queue ELSE coalesce(EXCLUDED.queue, r.queue) END,
    meta = CASE WHEN r.expires_at <= now() THEN EXCLUDED.meta ELSE r.meta || EXCLUDED.meta END,
    progress = CASE WHEN r.expires_at <= now() THEN NULL ELSE r.progress END,
    heartbeat_at = CASE WHEN r.expires_at <= now() THEN NULL ELSE r.heartbeat_at END,
    created_at = CASE WHEN r.expires_at <= now() THEN now() ELSE r.created_at END,
    args = CASE WHEN r.expires_at <= now() OR EXCLUDED.args IS NOT NULL OR EXCLUDED.args_truncated IS NOT NULL THEN EXCLUDED.args ELSE r.args END,
    args_truncated = CASE WHEN r.expires_at <= now() OR EXCLUDED.args IS NOT NULL OR EXCLUDED.args_truncated IS NOT NULL THEN EXCLUDED.args_truncated ELSE r.args_truncated END,
    updated_at = now(),
    expires_at = EXCLUDED.expires_at${upsertGuard(guards)}
  RETURNING r.*
)`;

/**
 * Merges progress ($2 JSON text, null = keep), heartbeat ($3 epoch ms, null = keep) and meta ($4
 * JSON object text, null = keep; merged key by key) into a live status ($1).
 */
export const touchStatus = (s: string, channel: string) => `
WITH up AS (
  UPDATE ${s}.results SET progress = coalesce($2::json, progress), heartbeat_at = coalesce($3::bigint, heartbeat_at),
    meta = meta || coalesce($4::jsonb, '{}'::jsonb), updated_at = now()
  WHERE id = $1 AND expires_at > now()
  RETURNING *
)${notifyFrom(s, channel)}`;

/** One live status ($1). */
export const getStatus = (s: string) => `SELECT ${STATUS} FROM ${s}.results WHERE id = $1 AND expires_at > now()`;

/** Sets a new TTL ($2 ms) on a live status ($1). */
export const expireStatus = (s: string) => `
UPDATE ${s}.results SET expires_at = now() + $2 * interval '1 millisecond' WHERE id = $1 AND expires_at > now()`;

/** Deletes up to $1 expired statuses. */
export const deleteExpiredStatuses = (s: string) => `
DELETE FROM ${s}.results WHERE id IN (SELECT id FROM ${s}.results WHERE expires_at <= now() LIMIT $1)`;

/** Registers task ids $1 (text[]) as watched by the LISTEN connection with pid $2. */
export const addWatches = (s: string) => `
INSERT INTO ${s}.result_watches (task_id, listener_pid) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`;

/** Removes the watch of task $1 by LISTEN connection pid $2. */
export const removeWatch = (s: string) => `DELETE FROM ${s}.result_watches WHERE task_id = $1 AND listener_pid = $2`;

/** Removes the watches of tasks $2 (text[]) by LISTEN connection pid $1. */
export const removeWatches = (s: string) => `DELETE FROM ${s}.result_watches WHERE listener_pid = $1 AND task_id = ANY($2::text[])`;

/** Deletes watches whose LISTEN connection is gone (a crashed or restarted process). */
export const deleteOrphanWatches = (s: string) => `
DELETE FROM ${s}.result_watches w WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = w.listener_pid)`;

/**
 * Waits for any write to status $1 still in flight (it holds the row lock) to commit. Run after a
 * watch is registered: every write is then either committed (visible to a read) or notifies.
 */
export const awaitInflightWrite = (s: string) => `SELECT 1 FROM ${s}.results WHERE id = $1 FOR SHARE`;
