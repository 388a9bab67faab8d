/**
 * Statements on the workflow store's tables (migration 0007). Each takes the quoted schema. Times
 * are epoch ms of the store's clock; `$owner` parameters are NULL when no lease is checked.
 */

/** The run columns {@link toRunState} reads (result as text, so a returned `null` stays apart from none). */
export const RUN_COLUMNS = `id, workflow, status, params, parent_run_id, created_at, updated_at, cursor, has_result, result::text AS result, wait_topic, resume_at,
  suspension, resume_data, last_error, owner_id, lease_expires_at, cancellation_policy, cancellation_data, metadata, expires_at`;

/** The lease check of writes on behalf of owner $owner at $now (both given by position). */
const owns = (owner: string, now: string) => `(${owner}::text IS NULL OR (owner_id = ${owner} AND lease_expires_at > ${now}))`;

/** Inserts run $1 (workflow $2, params $3, parent $4, now $5, policy $6, metadata $7) unless its id is taken. */
export const insertRun = (s: string) => `
INSERT INTO ${s}.workflow_runs (id, workflow, status, params, parent_run_id, created_at, updated_at, cancellation_policy, metadata)
VALUES ($1, $2, 'running', $3::json, $4, $5, $5, $6::json, $7::json)
ON CONFLICT (id) DO NOTHING
RETURNING ${RUN_COLUMNS}`;

/** {@link insertRun} for several runs (distinct ids): ids $1[i], workflows $2[i], params $3[i], parents $4[i], at $5, policies $6[i], metadata $7[i]. */
export const insertRuns = (s: string) => `
INSERT INTO ${s}.workflow_runs (id, workflow, status, params, parent_run_id, created_at, updated_at, cancellation_policy, metadata)
SELECT id, workflow, 'running', params::json, parent, $5, $5, policy::json, metadata::json
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[], $7::text[]) AS t(id, workflow, params, parent, policy, metadata)
ON CONFLICT (id) DO NOTHING
RETURNING ${RUN_COLUMNS}`;

/** Workflow name of run $1. */
export const runWorkflow = (s: string) => `SELECT workflow FROM ${s}.workflow_runs WHERE id = $1`;

/** The runs of ids $1 that have not expired at $2. */
export const getRuns = (s: string) => `SELECT ${RUN_COLUMNS} FROM ${s}.workflow_runs WHERE id = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > $2)`;

/** Run $1, locked (inside a transaction). */
export const lockRun = (s: string) => `SELECT ${RUN_COLUMNS} FROM ${s}.workflow_runs WHERE id = $1 FOR UPDATE`;

/** Runs filtered by workflow $1, status $2, parent $3 (NULL: any), not expired at $4, newest first, $5 from $6. */
export const listRuns = (s: string) => `
SELECT ${RUN_COLUMNS} FROM ${s}.workflow_runs
WHERE ($1::text IS NULL OR workflow = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR parent_run_id = $3)
  AND (expires_at IS NULL OR expires_at > $4)
ORDER BY created_at DESC, seq DESC
LIMIT $5 OFFSET $6`;

/**
 * `running` runs whose lease is free or expired at $1, oldest update first, $2 from $3. The
 * running runs are found on `workflow_runs_running_idx` and sorted here: an index on
 * `updated_at` would cost every checkpoint a new entry in each index of the table.
 */
export const runnableRuns = (s: string) => `
SELECT ${RUN_COLUMNS} FROM ${s}.workflow_runs
WHERE status = 'running' AND (owner_id IS NULL OR lease_expires_at <= $1)
ORDER BY updated_at, seq
LIMIT $2 OFFSET $3`;

/**
 * Saves checkpoint $2 = $3 (NULL: undefined, meta $6) of running run $1 at $4 for owner $5: a new name is
 * appended (cursor + 1), a known one overwritten; resume data and last error of that step cleared.
 */
export const saveStep = (s: string) => `
WITH known AS (SELECT 1 FROM ${s}.workflow_steps WHERE run_id = $1 AND name = $2),
run AS (
  UPDATE ${s}.workflow_runs SET updated_at = $4,
    cursor = cursor + CASE WHEN EXISTS (SELECT 1 FROM known) THEN 0 ELSE 1 END,
    resume_data = CASE WHEN resume_data->>'step' = $2 THEN NULL ELSE resume_data END,
    last_error = CASE WHEN last_error->>'step' = $2 THEN NULL ELSE last_error END
  WHERE id = $1 AND status = 'running' AND ${owns('$5', '$4')}
  RETURNING id, cursor
)
INSERT INTO ${s}.workflow_steps (run_id, name, position, value, meta, completed_at)
SELECT id, $2, cursor - 1, $3::json, $6::json, $4 FROM run
ON CONFLICT (run_id, name) DO UPDATE SET value = EXCLUDED.value, meta = EXCLUDED.meta, completed_at = EXCLUDED.completed_at
RETURNING 1`;

/**
 * {@link saveStep} for several runs at once (each run at most once): checkpoint names $2[i] =
 * values $3[i] (json text, NULL: undefined, meta $5[i]) of runs $1[i] for owners $4[i], at $6.
 * Returns the run ids whose checkpoint was stored. The status a run must have comes with the
 * input rows (`want`), never as a constant: a constant would let the planner read every running
 * run through the partial `workflow_runs_running_idx`, which its statistics show as nearly empty
 * until the next ANALYZE after a backlog arrives; from the input, each run is found by its
 * primary key.
 */
export const saveSteps = (s: string) => `
WITH input AS MATERIALIZED (
  SELECT *, 'running' AS want FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(run_id, name, value, owner, meta)
),
run AS (
  UPDATE ${s}.workflow_runs r SET updated_at = $6,
    cursor = r.cursor + CASE WHEN EXISTS (SELECT 1 FROM ${s}.workflow_steps k WHERE k.run_id = i.run_id AND k.name = i.name) THEN 0 ELSE 1 END,
    resume_data = CASE WHEN r.resume_data->>'step' = i.name THEN NULL ELSE r.resume_data END,
    last_error = CASE WHEN r.last_error->>'step' = i.name THEN NULL ELSE r.last_error END
  FROM input i
  WHERE r.id = i.run_id AND r.status = i.want AND (i.owner IS NULL OR (r.owner_id = i.owner AND r.lease_expires_at > $6))
  RETURNING r.id, r.cursor, i.name, i.value, i.meta
)
INSERT INTO ${s}.workflow_steps (run_id, name, position, value, meta, completed_at)
SELECT id, name, cursor - 1, value::json, meta::json, $6 FROM run
ON CONFLICT (run_id, name) DO UPDATE SET value = EXCLUDED.value, meta = EXCLUDED.meta, completed_at = EXCLUDED.completed_at
RETURNING run_id`;

/** Checkpoint $2 of run $1. */
export const readStep = (s: string) => `SELECT name, value::text AS value, meta, position, completed_at FROM ${s}.workflow_steps WHERE run_id = $1 AND name = $2`;

/** Checkpoints of run $1 in order. */
export const listSteps = (s: string) => `SELECT name, value::text AS value, meta, position, completed_at FROM ${s}.workflow_steps WHERE run_id = $1 ORDER BY position`;

/** Checkpoints of run $1 in order, none when the run does not exist or expired before $2. */
export const listLiveSteps = (s: string) => `
SELECT name, value::text AS value, meta, position, completed_at FROM ${s}.workflow_steps
WHERE run_id = $1 AND EXISTS (SELECT 1 FROM ${s}.workflow_runs WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2))
ORDER BY position`;

/** Deletes checkpoints of run $1 from position $2 on. */
export const deleteStepsFrom = (s: string) => `DELETE FROM ${s}.workflow_steps WHERE run_id = $1 AND position >= $2`;

/** Rewind suspension of run $1: cursor $2, suspension $3, at $4; an ended run's retention is lifted. */
export const rewindRun = (s: string) => `
UPDATE ${s}.workflow_runs SET status = 'suspended', cursor = $2, suspension = $3::json, resume_at = $4, updated_at = $4, due_claim_until = 0,
  has_result = false, result = NULL, last_error = NULL, resume_data = NULL, cancellation_data = NULL, owner_id = NULL, lease_expires_at = NULL,
  wait_topic = NULL, expires_at = NULL
WHERE id = $1
RETURNING ${RUN_COLUMNS}`;

/** Suspends running run $1 (owner $2, now $3) with suspension $4, resumeAt $5, wait topic $6. */
export const suspendRun = (s: string) => `
UPDATE ${s}.workflow_runs SET status = 'suspended', suspension = $4::json, resume_at = $5, wait_topic = $6, resume_data = NULL, due_claim_until = 0, updated_at = $3
WHERE id = $1 AND status = 'running' AND ${owns('$2', '$3')}
RETURNING workflow`;

/** Registers (or replaces) the watcher of run $1: topic $2, workflow $3, step $4, deadline $5, data $6, at $7. */
export const upsertWatcher = (s: string) => `
INSERT INTO ${s}.workflow_watchers (run_id, topic, workflow, step, deadline, data, created_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7)
ON CONFLICT (run_id) DO UPDATE SET topic = EXCLUDED.topic, workflow = EXCLUDED.workflow, step = EXCLUDED.step, deadline = EXCLUDED.deadline,
  data = EXCLUDED.data, created_at = EXCLUDED.created_at`;

/** Suspends run $1 on topic $6 and registers its watcher, in one statement (see {@link suspendRun}; step $7, data $8). */
export const suspendOnTopic = (s: string) => `
WITH run AS (
  UPDATE ${s}.workflow_runs SET status = 'suspended', suspension = $4::json, resume_at = $5, wait_topic = $6, resume_data = NULL, due_claim_until = 0, updated_at = $3
  WHERE id = $1 AND status = 'running' AND ${owns('$2', '$3')}
  RETURNING id, workflow
)
INSERT INTO ${s}.workflow_watchers (run_id, topic, workflow, step, deadline, data, created_at)
SELECT id, $6, workflow, $7, $5, $8::json, $3 FROM run
ON CONFLICT (run_id) DO UPDATE SET topic = EXCLUDED.topic, workflow = EXCLUDED.workflow, step = EXCLUDED.step, deadline = EXCLUDED.deadline,
  data = EXCLUDED.data, created_at = EXCLUDED.created_at
RETURNING 1`;

/**
 * Resolves up to $3 watchers of topic $1 with payload $2 at $4, each exactly once: the watcher
 * rows are locked (SKIP LOCKED: a concurrent resolver takes others) and deleted, and the payload
 * is stored as resume data of the runs still waiting on the topic, all in one statement.
 */
export const resolveWatchers = (s: string) => `
WITH picked AS (
  SELECT run_id FROM ${s}.workflow_watchers WHERE topic = $1 ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${s}.workflow_watchers w USING picked p WHERE w.run_id = p.run_id RETURNING w.run_id, w.step
)
UPDATE ${s}.workflow_runs r SET resume_data = json_build_object('step', g.step, 'type', 'event', 'topic', $1::text, 'payload', $2::json),
  wait_topic = NULL, resume_at = $4, due_claim_until = 0, updated_at = $4
FROM gone g
WHERE r.id = g.run_id AND r.status = 'suspended' AND r.wait_topic = $1 AND r.suspension->>'step' = g.step
RETURNING r.id, r.workflow, g.step, r.resume_data`;

/** Watchers of topic $1 (NULL: all), oldest first, at most $2. */
export const listWatchers = (s: string) => `
SELECT run_id, workflow, step, topic, deadline, data::text AS data, created_at FROM ${s}.workflow_watchers
WHERE $1::text IS NULL OR topic = $1 ORDER BY created_at, run_id LIMIT $2`;

/** Ids of runs suspended on topic $1. */
export const runsWaitingOn = (s: string) => `SELECT id FROM ${s}.workflow_runs WHERE status = 'suspended' AND wait_topic = $1 ORDER BY created_at, seq`;

/** Hands out up to $2 runs due at $1, each claimed until $3 (SKIP LOCKED: concurrent sweepers never share one). */
export const claimDueRuns = (s: string) => `
UPDATE ${s}.workflow_runs SET due_claim_until = $3
WHERE id IN (
  SELECT id FROM ${s}.workflow_runs
  WHERE status = 'suspended' AND resume_at IS NOT NULL AND resume_at <= $1 AND due_claim_until <= $1
  ORDER BY resume_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING id, resume_at, seq`;

/**
 * Resumes suspended run $1 when due at $2 (resume payload $3, NULL: none); a time-based wake-up
 * stores a sleep or timeout resume (none after a retry delay or rewind) unless one is there; its watcher goes in the same statement.
 */
export const resumeRun = (s: string) => `
WITH run AS (
  UPDATE ${s}.workflow_runs SET status = 'running',
    resume_data = CASE
      WHEN $3::text IS NOT NULL AND suspension IS NOT NULL
        THEN json_build_object('step', suspension->>'step', 'type', COALESCE(resume_data->>'type', 'event'), 'payload', $3::json)
      WHEN resume_data IS NULL AND suspension IS NOT NULL AND suspension->>'type' = 'sleep'
        THEN json_build_object('step', suspension->>'step', 'type', 'sleep', 'payload', COALESCE(suspension->'data', 'true'::json))
      WHEN resume_data IS NULL AND suspension IS NOT NULL AND suspension->>'type' NOT IN ('rewind', 'retry')
        THEN json_build_object('step', suspension->>'step', 'type', 'timeout', 'payload', NULL)
      ELSE resume_data END,
    suspension = NULL, wait_topic = NULL, resume_at = NULL, due_claim_until = 0, updated_at = $2
  WHERE id = $1 AND status = 'suspended' AND resume_at IS NOT NULL AND resume_at <= $2
  RETURNING ${RUN_COLUMNS}
), dropped AS (DELETE FROM ${s}.workflow_watchers WHERE run_id IN (SELECT id FROM run))
SELECT * FROM run`;

/** Ends run $1 with status $2 at $3 (result $4 when $5, error $6, cancellation $7, expiry $8); clears its lease, waits and signals. */
export const endRun = (s: string) => `
WITH run AS (
  UPDATE ${s}.workflow_runs SET status = $2, updated_at = $3, has_result = $5, result = CASE WHEN $5 THEN $4::json ELSE result END,
    last_error = COALESCE($6::json, last_error), cancellation_data = COALESCE($7::json, cancellation_data), expires_at = $8,
    suspension = NULL, resume_data = NULL, wait_topic = NULL, resume_at = NULL, owner_id = NULL, lease_expires_at = NULL
  WHERE id = $1
  RETURNING ${RUN_COLUMNS}
), w AS (DELETE FROM ${s}.workflow_watchers WHERE run_id IN (SELECT id FROM run)),
sig AS (DELETE FROM ${s}.workflow_signals WHERE run_id IN (SELECT id FROM run))
SELECT * FROM run`;

/**
 * Ends run $1 as {@link endRun} does (owner $9 checked at $3, NOTIFY on channel $10), in one
 * statement, unless it has a parent (whose signal needs the transaction of `endRun`) or ended
 * already. `ended`: the run's row as JSON, or NULL when nothing changed; `has_parent`: whether the
 * run has a parent (then nothing changed either).
 */
export const endLoneRun = (s: string) => `
WITH run AS (
  UPDATE ${s}.workflow_runs SET status = $2, updated_at = $3, has_result = $5, result = CASE WHEN $5 THEN $4::json ELSE result END,
    last_error = COALESCE($6::json, last_error), cancellation_data = COALESCE($7::json, cancellation_data), expires_at = $8,
    suspension = NULL, resume_data = NULL, wait_topic = NULL, resume_at = NULL, owner_id = NULL, lease_expires_at = NULL
  WHERE id = $1 AND parent_run_id IS NULL AND status NOT IN ('completed', 'failed', 'cancelled') AND ${owns('$9', '$3')}
  RETURNING ${RUN_COLUMNS}
), w AS (DELETE FROM ${s}.workflow_watchers WHERE run_id IN (SELECT id FROM run)),
sig AS (DELETE FROM ${s}.workflow_signals WHERE run_id IN (SELECT id FROM run)),
notified AS (SELECT pg_notify($10, id) FROM run)
SELECT (SELECT row_to_json(run) FROM run) AS ended, (SELECT count(*) FROM notified) AS notified,
  EXISTS (SELECT 1 FROM ${s}.workflow_runs WHERE id = $1 AND parent_run_id IS NOT NULL) AS has_parent`;

/**
 * {@link endLoneRun} for several runs (distinct ids, one statement): run $1[i] ends with status
 * $2[i] (result $3[i] when $4[i], error $5[i], cancellation $6[i], owner $7[i] checked) at $8,
 * expiring at $9, NOTIFY on channel $10. One row per run asked for, with its position in $1
 * (`ord`, 1-based), `ended` and `has_parent` as in {@link endLoneRun}.
 */
export const endLoneRuns = (s: string) => `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::text[])
    WITH ORDINALITY AS t(run_id, next_status, value, valued, failure, cancel, owner, ord)
), run AS (
  UPDATE ${s}.workflow_runs SET status = input.next_status, updated_at = $8, has_result = input.valued,
    result = CASE WHEN input.valued THEN input.value::json ELSE result END,
    last_error = COALESCE(input.failure::json, last_error), cancellation_data = COALESCE(input.cancel::json, cancellation_data), expires_at = $9,
    suspension = NULL, resume_data = NULL, wait_topic = NULL, resume_at = NULL, owner_id = NULL, lease_expires_at = NULL
  FROM input
  WHERE id = input.run_id AND parent_run_id IS NULL AND status NOT IN ('completed', 'failed', 'cancelled')
    AND (input.owner IS NULL OR (owner_id = input.owner AND lease_expires_at > $8))
  RETURNING ${RUN_COLUMNS}
), w AS (DELETE FROM ${s}.workflow_watchers WHERE run_id IN (SELECT id FROM run)),
sig AS (DELETE FROM ${s}.workflow_signals WHERE run_id IN (SELECT id FROM run)),
notified AS (SELECT pg_notify($10, id) FROM run)
SELECT input.ord, (SELECT row_to_json(run) FROM run WHERE run.id = input.run_id) AS ended, (SELECT count(*) FROM notified) AS notified,
  EXISTS (SELECT 1 FROM ${s}.workflow_runs p WHERE p.id = input.run_id AND p.parent_run_id IS NOT NULL) AS has_parent
FROM input`;

/** Records retryable error $2 of run $1 at $3 for owner $4 unless it ended; the run stays (or is again) running. */
export const retryLiveRun = (s: string) => `
UPDATE ${s}.workflow_runs SET status = 'running', last_error = $2::json, updated_at = $3
WHERE id = $1 AND status NOT IN ('completed', 'failed', 'cancelled') AND ${owns('$4', '$3')}
RETURNING ${RUN_COLUMNS}`;

/** Takes the lease of run $1 for $2 until $4 unless another owner's lease is live at $3. */
export const claimRun = (s: string) => `
UPDATE ${s}.workflow_runs SET owner_id = $2, lease_expires_at = $4
WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2 OR lease_expires_at <= $3) RETURNING 1`;

/**
 * {@link claimRun}, returning the run row as JSON (`run`, NULL when not claimed), its checkpoints
 * as JSON (`steps`, in order), and the cursor and update time the checkpoints were read with: the
 * checkpoints come from the statement's snapshot, the run from the row the claim locked, so a
 * write that committed while the claim waited for the row shows as a difference (read them again).
 */
export const claimAndLoad = (s: string) => `
WITH before AS (SELECT cursor, updated_at FROM ${s}.workflow_runs WHERE id = $1),
run AS (
  UPDATE ${s}.workflow_runs SET owner_id = $2, lease_expires_at = $4
  WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2 OR lease_expires_at <= $3)
  RETURNING ${RUN_COLUMNS}
)
SELECT (SELECT row_to_json(run) FROM run) AS run,
  (SELECT json_agg(json_build_object('name', name, 'value', value::text, 'meta', meta, 'position', position, 'completed_at', completed_at) ORDER BY position)
     FROM ${s}.workflow_steps WHERE run_id = $1) AS steps,
  (SELECT cursor FROM before) AS read_cursor, (SELECT updated_at FROM before) AS read_updated_at`;

/**
 * {@link claimAndLoad} for several runs (distinct ids, one statement): run $1[i] for owner $2[i]
 * until $4[i], unless another owner's lease is live at $3. One row per run asked for, with its
 * position in $1 (`ord`, 1-based) and the columns of {@link claimAndLoad}.
 */
export const claimAndLoadMany = (s: string) => `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $4::bigint[]) WITH ORDINALITY AS t(run_id, owner, until, ord)
), before AS (
  SELECT r.id AS run_id, r.cursor, r.updated_at FROM ${s}.workflow_runs r JOIN input ON r.id = input.run_id
), run AS (
  UPDATE ${s}.workflow_runs SET owner_id = input.owner, lease_expires_at = input.until
  FROM input
  WHERE id = input.run_id AND (owner_id IS NULL OR owner_id = input.owner OR lease_expires_at <= $3)
  RETURNING ${RUN_COLUMNS}
)
SELECT input.ord, (SELECT row_to_json(run) FROM run WHERE run.id = input.run_id) AS run,
  (SELECT json_agg(json_build_object('name', name, 'value', value::text, 'meta', meta, 'position', position, 'completed_at', completed_at) ORDER BY position)
     FROM ${s}.workflow_steps WHERE run_id = input.run_id) AS steps,
  before.cursor AS read_cursor, before.updated_at AS read_updated_at
FROM input LEFT JOIN before ON before.run_id = input.run_id`;

/** Extends owner $2's live lease of run $1 (at $3) to $4. */
export const renewRun = (s: string) => `
UPDATE ${s}.workflow_runs SET lease_expires_at = $4 WHERE id = $1 AND owner_id = $2 AND lease_expires_at > $3 RETURNING 1`;

/** Releases owner $2's lease of run $1. */
export const releaseRun = (s: string) => `UPDATE ${s}.workflow_runs SET owner_id = NULL, lease_expires_at = NULL WHERE id = $1 AND owner_id = $2 RETURNING 1`;

/** Deletes up to $2 runs whose retention passed at $1 (their checkpoints, watchers and signals go with them). */
export const sweepExpired = (s: string) => `
DELETE FROM ${s}.workflow_runs WHERE id IN (
  SELECT id FROM ${s}.workflow_runs WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
)`;

/** Appends signal $2 with payload $3 to run $1 at $4 (the run row must be locked). */
export const insertSignal = (s: string) => `
WITH run AS (UPDATE ${s}.workflow_runs SET signal_seq = signal_seq + 1, updated_at = $4 WHERE id = $1 RETURNING signal_seq)
INSERT INTO ${s}.workflow_signals (run_id, seq, name, payload, sent_at) SELECT $1, signal_seq, $2, $3::json, $4 FROM run`;

/** Makes run $1 due at $2 with signal resume data for step $3 and signal $4. */
export const wakeOnSignal = (s: string) => `
UPDATE ${s}.workflow_runs SET resume_data = json_build_object('step', $3::text, 'type', 'signal', 'topic', $4::text, 'payload', NULL), resume_at = $2, due_claim_until = 0
WHERE id = $1`;

/** Whether a signal named $2 waits for run $1. */
export const hasSignal = (s: string) => `SELECT 1 FROM ${s}.workflow_signals WHERE run_id = $1 AND name = $2 LIMIT 1`;

/** Takes the oldest signal named $2 of run $1. */
export const takeSignal = (s: string) => `
DELETE FROM ${s}.workflow_signals WHERE (run_id, seq) IN (SELECT run_id, seq FROM ${s}.workflow_signals WHERE run_id = $1 AND name = $2 ORDER BY seq LIMIT 1)
RETURNING payload::text AS payload`;

/** Signals of run $1 in arrival order. */
export const listSignals = (s: string) => `SELECT run_id, name, payload::text AS payload, seq, sent_at FROM ${s}.workflow_signals WHERE run_id = $1 ORDER BY seq`;
