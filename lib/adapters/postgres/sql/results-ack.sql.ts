import { notifyFrom, upsertStatusesCte, type UpsertGuards } from './results.sql.js';

/**
 * Upserts statuses exactly as `upsertStatuses` does ($1..$11, the same guards, the same NOTIFY of
 * watched statuses) and, in the same statement, acks deliveries: deletes the job rows $12
 * (bigint[]) that still hold the lease tokens $13 (int[]). Both commit together, so no delivery
 * is acked without its status; a row leased again since (a stale lease) is left as it is, as a
 * plain ack leaves it. `results` is the quoted schema of the statuses, `jobs` that of the jobs.
 */
export const upsertStatusesAndAck = (results: string, channel: string, jobs: string, guards: UpsertGuards = {}) => `
WITH ${upsertStatusesCte(results, guards)},
acked AS (
  DELETE FROM ${jobs}.jobs j USING unnest($12::bigint[], $13::int[]) AS a(id, lease)
  WHERE j.id = a.id AND j.lease = a.lease
)${notifyFrom(results, channel)}`;
