import { notifyFrom } from './results.sql.js';

/**
 * Appends the JSON array $3 to the array under meta key $2 of live status $1 (a missing or
 * non-array value is replaced), in one UPDATE: the row lock serialises concurrent appends and
 * each re-reads the row the previous one committed, so none is lost. Watchers are notified.
 */
export const appendStatusMeta = (s: string, channel: string) => `
WITH up AS (
  UPDATE ${s}.results
  SET meta = jsonb_set(meta, ARRAY[$2::text],
        (CASE WHEN jsonb_typeof(meta -> $2::text) = 'array' THEN meta -> $2::text ELSE '[]'::jsonb END) || $3::jsonb),
      updated_at = now()
  WHERE id = $1 AND expires_at > now()
  RETURNING *
)${notifyFrom(s, channel)}`;
