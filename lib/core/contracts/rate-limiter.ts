/** The answer of a {@link RateLimiter}. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When denied: ms until a token is expected to be available. */
  readonly retryAfter: number;
}

/** A rate: `tokens` per `interval` ms (parsed from `'10/s'`, `'100/m'`, `'1000/h'`). */
export interface RateLimit {
  readonly tokens: number;
  readonly interval: number;
}

/**
 * Decides whether a task may start now. In-process limiters hold per worker; limiters on a shared
 * store (Redis, Postgres) hold across every worker.
 */
export interface RateLimiter {
  /** Takes one token for `key` under `limit`. */
  acquire(key: string, limit: RateLimit): Promise<RateLimitDecision>;
  /**
   * Gives back one token taken from `key` by {@link acquire} (capped at the bucket's capacity),
   * when the task it was taken for did not start after all: the worker refunds a task's group
   * token when the task's own limit then denies it. Optional: a limiter without it keeps the
   * token spent (the task then costs its group one token per denied attempt).
   */
  refund?(key: string, limit: RateLimit): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
