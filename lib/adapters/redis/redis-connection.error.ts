import { StemError } from '../../core/errors/stem.error.js';

/**
 * Redis could not be reached when an adapter connected. The message names the URL (without its
 * password) and the underlying cause, e.g.
 * `Cannot connect to Redis at redis://127.0.0.1:6390: ECONNREFUSED. Is redis-server running?`
 */
export class RedisConnectionError extends StemError {
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('STEM_REDIS_CONNECTION', `Cannot connect to Redis at ${url}: ${reason}. Is redis-server running and reachable?`, options);
  }
}
