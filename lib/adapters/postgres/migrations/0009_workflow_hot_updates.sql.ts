/**
 * 0009_workflow_hot_updates: a checkpoint or a claim rewrites a run row in place.
 *
 * Postgres can update a row without touching its indexes (a HOT update) when no indexed column
 * changes and the row's page has room. Every checkpoint sets `updated_at`, which
 * `workflow_runs_runnable_idx` indexed, so each one wrote a new entry into every index of the
 * table, and left as many dead ones for vacuum.
 *
 * - `workflow_runs_running_idx` lists the `running` runs by `seq` and replaces
 *   `workflow_runs_runnable_idx` (`updated_at`, `seq`); the recovery sweep sorts what it finds.
 * - `workflow_runs` leaves half of each page written from now on free (`fillfactor`), so the next
 *   versions of a run fit beside it; the table takes up to twice the room it did.
 * - `workflow_steps_position_idx` goes: a run's checkpoints are found by the primary key
 *   (`run_id`, `name`) and sorted by position, so each checkpoint writes one index entry, not two.
 *
 * Locks: the new index is built while writes to `workflow_runs` wait (reads go on); the old
 * indexes are dropped at the end, under a lock that lasts until the migration commits. A lock
 * that cannot be had within 5 s (`lock_timeout`) fails the migration, and the migrator tries
 * again.
 */
export const sql = /* sql */ `
SET LOCAL lock_timeout = '5s';
CREATE INDEX workflow_runs_running_idx ON workflow_runs (seq) WHERE status = 'running';
DROP INDEX workflow_runs_runnable_idx;
ALTER TABLE workflow_runs SET (fillfactor = 50);
DROP INDEX workflow_steps_position_idx;
`;
