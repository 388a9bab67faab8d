/**
 * 0001_init: jobs, dead letters, results, locks and rate-limit buckets.
 *
 * Runs inside a transaction with `search_path` set to the Stem schema, so names are unqualified.
 * - `jobs`: one row per envelope. `run_at` is when it becomes visible (`notBefore`); a leased row
 *   has `locked_until` in the future; `lease` changes on every claim and settle, so a stale
 *   receipt cannot touch a later delivery. Claims scan `jobs_claim_idx` with SKIP LOCKED. Claims
 *   and lease extensions change no indexed column (HOT updates, hence the fillfactor).
 * - `dead_letters`: settled envelopes with a reason; listed newest first per queue.
 * - `results`: one status per task id, with `expires_at` for the TTL.
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
CREATE INDEX results_updated_idx ON results (updated_at);
CREATE INDEX results_expires_idx ON results (expires_at);

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
