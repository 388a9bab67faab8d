/**
 * 0007_workflows: the workflow store's tables.
 *
 * - `workflow_runs`: one row per run; times in epoch ms of the store's clock (bigint); JSON
 *   values as `json` so they read back as written; `has_result` tells a run that returned nothing
 *   from one that returned `null`; `cursor` is the checkpoint count; `due_claim_until` holds a
 *   due run handed to a sweeper; `expires_at` is set when the run ends (retention).
 * - `workflow_steps`: checkpoints by (run, name) with their position and meta; SQL NULL value = undefined.
 * - `workflow_watchers`: the durable event watcher of a suspended run (one per run), by topic.
 * - `workflow_signals`: signals waiting for a run, in arrival order.
 * Children rows go with their run (ON DELETE CASCADE), so the retention sweep deletes runs only.
 */
export const sql = /* sql */ `
CREATE TABLE workflow_runs (
  id                  text COLLATE "C" PRIMARY KEY,
  seq                 bigserial NOT NULL,
  workflow            text NOT NULL,
  status              text NOT NULL,
  params              json NOT NULL,
  parent_run_id       text COLLATE "C",
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL,
  cursor              integer NOT NULL DEFAULT 0,
  has_result          boolean NOT NULL DEFAULT false,
  result              json,
  wait_topic          text,
  resume_at           bigint,
  due_claim_until     bigint NOT NULL DEFAULT 0,
  suspension          json,
  resume_data         json,
  last_error          json,
  owner_id            text,
  lease_expires_at    bigint,
  cancellation_policy json,
  cancellation_data   json,
  metadata            json NOT NULL,
  signal_seq          integer NOT NULL DEFAULT 0,
  expires_at          bigint
);
CREATE INDEX workflow_runs_list_idx ON workflow_runs (created_at DESC, seq DESC);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow, created_at DESC, seq DESC);
CREATE INDEX workflow_runs_parent_idx ON workflow_runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX workflow_runs_due_idx ON workflow_runs (resume_at, seq) WHERE status = 'suspended' AND resume_at IS NOT NULL;
CREATE INDEX workflow_runs_runnable_idx ON workflow_runs (updated_at, seq) WHERE status = 'running';
CREATE INDEX workflow_runs_expiry_idx ON workflow_runs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE workflow_steps (
  run_id       text COLLATE "C" NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
  name         text COLLATE "C" NOT NULL,
  position     integer NOT NULL,
  value        json,
  meta         json,
  completed_at bigint NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE INDEX workflow_steps_position_idx ON workflow_steps (run_id, position);

CREATE TABLE workflow_watchers (
  run_id     text COLLATE "C" PRIMARY KEY REFERENCES workflow_runs (id) ON DELETE CASCADE,
  topic      text NOT NULL,
  workflow   text NOT NULL,
  step       text NOT NULL,
  deadline   bigint,
  data       json,
  created_at bigint NOT NULL
);
CREATE INDEX workflow_watchers_topic_idx ON workflow_watchers (topic, created_at);

CREATE TABLE workflow_signals (
  run_id  text COLLATE "C" NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
  seq     integer NOT NULL,
  name    text NOT NULL,
  payload json NOT NULL,
  sent_at bigint NOT NULL,
  PRIMARY KEY (run_id, seq)
);
`;
