/**
 * 0001_init: jobs, dead letters, results, locks and rate-limit buckets.
 *
 * Runs inside a transaction with `search_path` set to the Stem schema, so names are unqualified.
 * - `jobs`: one row per envelope. `run_at` is when it becomes visible (`notBefore`); a leased row
 *   has `locked_until` in the future; `lease` changes on every claim and settle, so a stale
 *   receipt cannot touch a later delivery. Claims scan `jobs_claim_idx` with SKIP LOCKED. Claims
 *   and lease extensions change no indexed column (HOT updates, hence the fillfactor).
 * - `claim_jobs(queues, max, lease_ms, consumer)`: the claim, as a function so its planner settings
 *   stick: it must walk `jobs_claim_idx` in order and stop after `max` rows, never bitmap-scan and
 *   sort a whole backlog (which a fresh or churning table's statistics would otherwise invite);
 *   JIT is off because compiling costs far more than this short statement runs.
 * - `dead_letters`: settled envelopes with a reason; listed newest first per queue.
 * - `results`: one status per task id, with `expires_at` for the TTL (indexed for the sweep).
 *   Statuses are written three times per task, so there is deliberately no index on `updated_at`:
 *   listing newest first (an operator's query) scans and sorts instead of every write paying for
 *   one more index entry. `result_watches` lists the
 *   task ids some process watches (with the pid of its LISTEN connection), so writes NOTIFY only
 *   for watched tasks instead of for every status.
 * - `locks`: owner + expiry per key. `rate_limits`: one token bucket per key.
 */
export const sql = /* sql */ `
CREATE TABLE jobs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id       text NOT NULL,
  queue         text NOT NULL,
  priority      smallint NOT NULL DEFAULT 0,
  run_at        timestamptz NOT NULL DEFAULT now(),
  attempt       integer NOT NULL DEFAULT 0,
  visibility_ms integer,
  envelope      json NOT NULL,
  lease         integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  locked_by     text,
  created_at    timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX jobs_claim_idx ON jobs (queue, priority DESC, run_at, id);

CREATE FUNCTION claim_jobs(p_queues text[], p_max integer, p_lease_ms integer, p_consumer text)
RETURNS TABLE (id bigint, lease integer, task_id text, queue text, priority smallint, attempt integer,
               envelope text, locked_until_ms double precision, created_ms double precision, run_at_ms double precision)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
SET enable_bitmapscan = off
SET enable_seqscan = off
SET jit = off
AS $$
BEGIN
  RETURN QUERY
  WITH candidates AS (
    SELECT c.id AS cid, c.priority AS cprio, c.run_at AS crun
    FROM unnest(p_queues) AS q(name),
    LATERAL (
      SELECT j.id, j.priority, j.run_at FROM jobs j
      WHERE j.queue = q.name AND j.run_at <= now() AND (j.locked_until IS NULL OR j.locked_until < now())
      ORDER BY j.priority DESC, j.run_at, j.id
      LIMIT p_max
      FOR UPDATE SKIP LOCKED
    ) c
  ), chosen AS (
    SELECT cid FROM candidates ORDER BY cprio DESC, crun, cid LIMIT p_max
  )
  UPDATE jobs j
  SET locked_until = now() + coalesce(j.visibility_ms, p_lease_ms) * interval '1 millisecond',
      locked_by = p_consumer, lease = j.lease + 1
  FROM chosen WHERE j.id = chosen.cid
  RETURNING j.id, j.lease, j.task_id, j.queue, j.priority, j.attempt, j.envelope::text,
            (extract(epoch FROM j.locked_until) * 1000)::float8, (extract(epoch FROM j.created_at) * 1000)::float8,
            (extract(epoch FROM j.run_at) * 1000)::float8;
END
$$;

CREATE TABLE dead_letters (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id  text NOT NULL,
  queue    text NOT NULL,
  envelope json NOT NULL,
  reason   text NOT NULL,
  meta     jsonb NOT NULL DEFAULT '{}',
  dead_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_queue_idx ON dead_letters (queue, dead_at, id);
CREATE INDEX dead_letters_task_idx ON dead_letters (queue, task_id);

CREATE TABLE results (
  id           text PRIMARY KEY,
  state        text NOT NULL,
  name         text,
  queue        text,
  attempt      integer NOT NULL DEFAULT 0,
  payload      json,
  error        json,
  meta         jsonb NOT NULL DEFAULT '{}',
  progress     json,
  heartbeat_at bigint,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX results_expires_idx ON results (expires_at);

CREATE TABLE result_watches (
  task_id      text NOT NULL,
  listener_pid integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, listener_pid)
);

-- Which of p_task_ids are watched. Volatile on purpose: called after the writer locked and wrote
-- its status rows, it reads with a fresh snapshot, so a watch committed while the write was in
-- flight is seen (with the FOR SHARE barrier in watch(), no write slips between registering a
-- watch and reading the status).
CREATE FUNCTION watched_ids(p_task_ids text[]) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM result_watches) THEN
    RETURN '{}';
  END IF;
  RETURN ARRAY(SELECT DISTINCT task_id FROM result_watches WHERE task_id = ANY(p_task_ids));
END
$$;

CREATE TABLE locks (
  key        text PRIMARY KEY,
  owner      text NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE TABLE rate_limits (
  key        text PRIMARY KEY,
  tokens     double precision NOT NULL,
  allowed    boolean NOT NULL,
  updated_at timestamptz NOT NULL
);
`;
