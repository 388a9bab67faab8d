/**
 * Takes one token from the bucket $1 key (capacity $2 tokens, refill $3 tokens per ms) in one
 * statement: refills by the time elapsed on the server clock, caps at the capacity, takes a token
 * when at least one is there. Returns `allowed` and the tokens left.
 */
export const takeToken = (s: string) => `
INSERT INTO ${s}.rate_limits AS b (key, tokens, allowed, updated_at) VALUES ($1, $2::float8 - 1, true, now())
ON CONFLICT (key) DO UPDATE SET
  tokens = CASE
    WHEN least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)) * 1000 * $3::float8) >= 1
    THEN least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)) * 1000 * $3::float8) - 1
    ELSE least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)) * 1000 * $3::float8)
  END,
  allowed = least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)) * 1000 * $3::float8) >= 1,
  updated_at = now()
RETURNING allowed, tokens`;

/**
 * Gives one token back to the bucket $1 key (capacity $2 tokens, refill $3 tokens per ms), after
 * refilling it by the time elapsed, capped at the capacity. A bucket swept meanwhile was full.
 */
export const refundToken = (s: string) => `
UPDATE ${s}.rate_limits AS b SET
  tokens = least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)) * 1000 * $3::float8 + 1),
  updated_at = now()
WHERE b.key = $1`;

/** Deletes up to $1 buckets untouched for a day (a full bucket carries no state). */
export const deleteIdleBuckets = (s: string) => `
DELETE FROM ${s}.rate_limits WHERE key IN (SELECT key FROM ${s}.rate_limits WHERE updated_at < now() - interval '1 day' LIMIT $1)`;
