/**
 * 0008_operations_queries: what the operations queries read (queue list, counts by state,
 * finished tasks per minute, task search, recorded arguments), kept fast on a million statuses.
 *
 * - `queues`: every queue a broker published to or consumed (filled once per queue and process).
 * - `results.args` / `args_truncated`: the arguments recorded with the `queued` status, or the
 *   size of those too large to record; later writes keep them. `results_args_idx` (GIN,
 *   `jsonb_path_ops`) serves `args @> ...`.
 * - Listing newest first: `results_updated_idx` (all, or `succeeded`: most rows),
 *   `results_queue_updated_idx` (one queue), and partial indexes on every other state (small:
 *   a `succeeded` status leaves them), alone and per queue. `results_id_prefix_idx` serves id
 *   prefixes whatever the database collation.
 * - `result_counts`: live statuses per (queue, state), kept by statement triggers on `results`
 *   as deltas in one row per writing backend (`shard` = its pid), so concurrent writers never
 *   wait for each other; rows of backends that are gone are folded into shard 0 by the sweep.
 *   Counts include expired statuses until the sweep deletes them.
 * - `result_throughput`: statuses turning `succeeded`/`failed` per minute and queue, sharded the
 *   same way; buckets older than a day are deleted by the sweep.
 */
export const sql = /* sql */ `
CREATE TABLE queues (
  name       text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO queues (name) SELECT DISTINCT queue FROM jobs UNION SELECT DISTINCT queue FROM dead_letters ON CONFLICT DO NOTHING;

ALTER TABLE results ADD COLUMN args jsonb, ADD COLUMN args_truncated integer;
CREATE INDEX results_updated_idx ON results (updated_at DESC, id DESC);
CREATE INDEX results_queue_updated_idx ON results (queue, updated_at DESC, id DESC);
CREATE INDEX results_state_updated_idx ON results (state, updated_at DESC, id DESC) WHERE state <> 'succeeded';
CREATE INDEX results_queue_state_updated_idx ON results (queue, state, updated_at DESC, id DESC) WHERE state <> 'succeeded';
CREATE INDEX results_id_prefix_idx ON results (id text_pattern_ops);
CREATE INDEX results_args_idx ON results USING gin (args jsonb_path_ops) WHERE args IS NOT NULL;

CREATE TABLE result_counts (
  queue text NOT NULL,
  state text NOT NULL,
  shard integer NOT NULL,
  n     bigint NOT NULL,
  PRIMARY KEY (queue, state, shard)
);
INSERT INTO result_counts (queue, state, shard, n)
SELECT coalesce(queue, ''), state, 0, count(*) FROM results GROUP BY 1, 2;

CREATE TABLE result_throughput (
  minute timestamptz NOT NULL,
  queue  text NOT NULL,
  state  text NOT NULL,
  shard  integer NOT NULL,
  n      bigint NOT NULL,
  PRIMARY KEY (minute, queue, state, shard)
);

-- Adds per-(queue, state) deltas; ordered so that two statements lock counter rows in one order.
CREATE FUNCTION results_counts_after() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO result_counts AS c (queue, state, shard, n)
    SELECT coalesce(queue, ''), state, pg_backend_pid(), count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    INSERT INTO result_throughput AS t (minute, queue, state, shard, n)
    SELECT date_trunc('minute', now()), coalesce(queue, ''), state, pg_backend_pid(), count(*)
    FROM new_rows WHERE state IN ('succeeded', 'failed') GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (minute, queue, state, shard) DO UPDATE SET n = t.n + EXCLUDED.n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO result_counts AS c (queue, state, shard, n)
    SELECT q, st, pg_backend_pid(), sum(d) FROM (
      SELECT coalesce(queue, '') AS q, state AS st, 1 AS d FROM new_rows
      UNION ALL SELECT coalesce(queue, ''), state, -1 FROM old_rows
    ) x GROUP BY q, st HAVING sum(d) <> 0 ORDER BY q, st
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    INSERT INTO result_throughput AS t (minute, queue, state, shard, n)
    SELECT date_trunc('minute', now()), coalesce(nr.queue, ''), nr.state, pg_backend_pid(), count(*)
    FROM new_rows nr JOIN old_rows o ON o.id = nr.id
    WHERE nr.state IN ('succeeded', 'failed') AND (o.state <> nr.state OR o.expires_at <= now())
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (minute, queue, state, shard) DO UPDATE SET n = t.n + EXCLUDED.n;
  ELSE
    INSERT INTO result_counts AS c (queue, state, shard, n)
    SELECT coalesce(queue, ''), state, pg_backend_pid(), -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER results_counts_insert AFTER INSERT ON results REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION results_counts_after();
CREATE TRIGGER results_counts_update AFTER UPDATE ON results REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION results_counts_after();
CREATE TRIGGER results_counts_delete AFTER DELETE ON results REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION results_counts_after();
`;
