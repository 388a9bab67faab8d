/**
 * 0004_lease_floor_dead_letter_sweep: a floor under stored leases, and an index for the
 * dead-letter retention sweep.
 *
 * - `claim_jobs` leases a row for its `visibility_ms` only when that is a sane lease (at least
 *   100 ms, the envelope validator's minimum); a row written with 0, a negative or a tiny value
 *   gets the consumer's default lease instead of one that lapses at once (which let other
 *   consumers claim a running task again and again). Everything else is as in 0001.
 * - `dead_letters_dead_at_idx` lets the sweep delete dead letters past their retention across
 *   all queues without scanning the table.
 */
export const sql = /* sql */ `
CREATE OR REPLACE FUNCTION claim_jobs(p_queues text[], p_max integer, p_lease_ms integer, p_consumer text)
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
  SET locked_until = now() + (CASE WHEN j.visibility_ms >= 100 THEN j.visibility_ms ELSE p_lease_ms END) * interval '1 millisecond',
      locked_by = p_consumer, lease = j.lease + 1
  FROM chosen WHERE j.id = chosen.cid
  RETURNING j.id, j.lease, j.task_id, j.queue, j.priority, j.attempt, j.envelope::text,
            (extract(epoch FROM j.locked_until) * 1000)::float8, (extract(epoch FROM j.created_at) * 1000)::float8,
            (extract(epoch FROM j.run_at) * 1000)::float8;
END
$$;

CREATE INDEX dead_letters_dead_at_idx ON dead_letters (dead_at);
`;
