/** Statements on `locks`. Each takes the quoted schema. */

/**
 * Takes $1 key for $2 owner for $3 ms: inserts, or takes over a row that expired or that the same
 * owner holds. Returns a row only when taken; concurrent callers serialise on the key.
 */
export const acquireLock = (s: string) => `
INSERT INTO ${s}.locks AS l (key, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
WHERE l.expires_at <= now() OR l.owner = EXCLUDED.owner
RETURNING 1`;

/** Extends $1 key to $3 ms from now if $2 owner still holds it. */
export const renewLock = (s: string) => `
UPDATE ${s}.locks SET expires_at = now() + $3 * interval '1 millisecond' WHERE key = $1 AND owner = $2 AND expires_at > now()`;

/** Releases $1 key if $2 owner still holds it. */
export const releaseLock = (s: string) => `DELETE FROM ${s}.locks WHERE key = $1 AND owner = $2 AND expires_at > now()`;

/** The live owner of $1 key. */
export const lockOwner = (s: string) => `SELECT owner FROM ${s}.locks WHERE key = $1 AND expires_at > now()`;

/** Deletes up to $1 locks that expired more than a minute ago. */
export const deleteExpiredLocks = (s: string) => `
DELETE FROM ${s}.locks WHERE key IN (SELECT key FROM ${s}.locks WHERE expires_at < now() - interval '1 minute' LIMIT $1)`;
