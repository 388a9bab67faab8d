/**
 * 0009_workflow_hot_updates: a checkpoint or a claim rewrites a run row in place.
 *
 * Postgres can update a row without touching its indexes (a HOT update) when no indexed column
 * changes and the row's page has room. Every checkpoint sets `updated_at`, which
 * `workflow_runs_runnable_idx` indexed, so each one wrote a new entry into every index of the
 * table, and left as many dead ones for vacuum.
 *
 * - `workflow_runs_runnable_idx` orders the recovery sweep's `running` runs by `seq` (creation)
 *   instead of `updated_at`.
 * - `workflow_runs` leaves half of each new page free (`fillfactor`), so the next versions of
 *   a run fit beside it. Pages written before this migration keep their layout.
 * - `workflow_steps_position_idx` goes: a run's checkpoints are found by the primary key
 *   (`run_id`, `name`) and put in order there, so each checkpoint writes one index entry, not two.
 *
 * The new index is built under a lock that holds writes to `workflow_runs` back while it is built.
 */
export const sql = /* sql */ `
DROP INDEX workflow_runs_runnable_idx;
CREATE INDEX workflow_runs_runnable_idx ON workflow_runs (seq) WHERE status = 'running';
ALTER TABLE workflow_runs SET (fillfactor = 50);
DROP INDEX workflow_steps_position_idx;
`;
