/**
 * Statements on `canvas_groups`, the canvas group store's table (created by migration 0003, claim
 * deadline and dispatched flag from 0005). Each
 * takes the quoted schema; expiry uses the server clock.
 */

/** Creates or resets group $1 with $2 members, meta $3, TTL $4 ms. */
export const initGroup = (s: string) => `
INSERT INTO ${s}.canvas_groups AS g (id, expected, meta, results, claimed_by, created_at, expires_at)
VALUES ($1, $2, $3::jsonb, (SELECT coalesce(jsonb_agg(NULL::jsonb), '[]'::jsonb) FROM generate_series(1, $2)), NULL, now(), now() + $4 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET expected = EXCLUDED.expected, meta = EXCLUDED.meta, results = EXCLUDED.results,
  claimed_by = NULL, claim_expires_at = NULL, dispatched = false, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`;

/** The columns every group read returns (times as epoch ms). */
const COLUMNS = `id, expected, meta, results, claimed_by, dispatched,
  CASE WHEN dispatched THEN NULL ELSE (extract(epoch FROM claim_expires_at) * 1000)::float8 END AS claim_expires_ms, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`;

/**
 * Creates group $1 ($2 members, meta $3, TTL $4 ms) unless a live one exists (an expired row is
 * replaced); a row only when this call created it.
 */
export const createGroup = (s: string) => `
INSERT INTO ${s}.canvas_groups AS g (id, expected, meta, results, claimed_by, created_at, expires_at)
VALUES ($1, $2, $3::jsonb, (SELECT coalesce(jsonb_agg(NULL::jsonb), '[]'::jsonb) FROM generate_series(1, $2)), NULL, now(), now() + $4 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET expected = EXCLUDED.expected, meta = EXCLUDED.meta, results = EXCLUDED.results,
  claimed_by = NULL, claim_expires_at = NULL, dispatched = false, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
WHERE g.expires_at <= now()
RETURNING ${COLUMNS}`;

/** Sets slot $2 of live group $1 to $3; one row lock per group keeps concurrent adds atomic. */
export const addResult = (s: string) => `
UPDATE ${s}.canvas_groups SET results = jsonb_set(results, ARRAY[$2::text], $3::jsonb)
WHERE id = $1 AND expires_at > now() AND $2 < expected
RETURNING ${COLUMNS}`;

/** Live group $1. */
export const getGroup = (s: string) => `SELECT ${COLUMNS} FROM ${s}.canvas_groups WHERE id = $1 AND expires_at > now()`;

/**
 * Claims the chord of live, undispatched group $1 for callback $2 for $3 ms, when unclaimed or the
 * claim lapsed; a row only for the winner (the row lock serialises concurrent claims, and the loser
 * re-checks the deadline the winner wrote).
 */
export const claimChord = (s: string) => `
UPDATE ${s}.canvas_groups SET claimed_by = $2, claim_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
WHERE id = $1 AND expires_at > now() AND NOT dispatched
  AND (claimed_by IS NULL OR claim_expires_at IS NULL OR claim_expires_at <= clock_timestamp())
RETURNING 1`;

/** Clears the chord claim of group $1 if callback $2 holds it and it is not dispatched. */
export const releaseChord = (s: string) => `
UPDATE ${s}.canvas_groups SET claimed_by = NULL, claim_expires_at = NULL WHERE id = $1 AND claimed_by = $2 AND NOT dispatched`;

/** Records callback $2 of group $1 as published. */
export const markChordDispatched = (s: string) => `
UPDATE ${s}.canvas_groups SET claimed_by = $2, dispatched = true, claim_expires_at = NULL WHERE id = $1`;

/** Deletes up to $1 groups that expired. */
export const deleteExpiredGroups = (s: string) => `
DELETE FROM ${s}.canvas_groups WHERE id IN (SELECT id FROM ${s}.canvas_groups WHERE expires_at < now() LIMIT $1)`;
