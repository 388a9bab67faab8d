/**
 * 0006_control_plane: revocations, paused queues and worker heartbeats.
 *
 * - `control_revokes`: one row per namespace and task id; `version` decides which write wins;
 *   `expires_at` (epoch ms, null for never) is what `pruneRevokes` deletes by, through a partial
 *   index.
 * - `control_queue_pauses`: the latest pause state of each queue, versioned the same way.
 * - `control_workers`: each worker's last heartbeat until `expires_at` (server time).
 */
export const sql = /* sql */ `
CREATE TABLE control_revokes (
  namespace  text NOT NULL,
  task_id    text COLLATE "C" NOT NULL,
  version    bigint NOT NULL,
  expires_at double precision,
  entry      json NOT NULL,
  PRIMARY KEY (namespace, task_id)
);
CREATE INDEX control_revokes_expiry_idx ON control_revokes (namespace, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE control_queue_pauses (
  namespace text NOT NULL,
  queue     text COLLATE "C" NOT NULL,
  version   bigint NOT NULL,
  entry     json NOT NULL,
  PRIMARY KEY (namespace, queue)
);
CREATE TABLE control_workers (
  namespace  text NOT NULL,
  worker_id  text COLLATE "C" NOT NULL,
  expires_at timestamptz NOT NULL,
  heartbeat  json NOT NULL,
  PRIMARY KEY (namespace, worker_id)
);
`;
