/**
 * Statements on `schedules`, the Beat schedule store's table (created by migration 0002). Each
 * takes the quoted schema.
 */

/** Inserts entry $1 at version $2 (enabled $3, source $4, next run $5, JSON $6) unless $1 exists; a row only when inserted. */
export const insertSchedule = (s: string) => `
INSERT INTO ${s}.schedules (id, version, enabled, source, next_run_at, entry) VALUES ($1, $2, $3, $4, $5, $6::json)
ON CONFLICT (id) DO NOTHING
RETURNING 1`;

/** Replaces entry $1 with version $2 (and columns $3..$6) only if its stored version is $7; a row only when written. */
export const updateSchedule = (s: string) => `
UPDATE ${s}.schedules SET version = $2, enabled = $3, source = $4, next_run_at = $5, entry = $6::json
WHERE id = $1 AND version = $7
RETURNING 1`;

/** Deletes entry $1; a row when it existed. */
export const deleteSchedule = (s: string) => `DELETE FROM ${s}.schedules WHERE id = $1 RETURNING 1`;

/** Entry $1 and its version. */
export const getSchedule = (s: string) => `SELECT version, entry FROM ${s}.schedules WHERE id = $1`;

/** Entries by id, filtered by $1 enabled and $2 source when not null. */
export const listSchedules = (s: string) => `
SELECT version, entry FROM ${s}.schedules
WHERE ($1::boolean IS NULL OR enabled = $1) AND ($2::text IS NULL OR source = $2)
ORDER BY id`;

/** Up to $2 enabled entries whose next run is at or before $1, earliest first; walks `schedules_due_idx`. */
export const dueSchedules = (s: string) => `
SELECT version, entry FROM ${s}.schedules
WHERE enabled AND next_run_at IS NOT NULL AND next_run_at <= $1
ORDER BY next_run_at, id
LIMIT $2`;
