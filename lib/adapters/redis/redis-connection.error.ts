import { StemError } from '../../core/errors/stem.error.js';

/**
 * Redis could not be reached when an adapter connected. The message names the URL (without its
 * password), the underlying cause and what to check, e.g.
 * `Cannot connect to Redis at redis://127.0.0.1:6390: ECONNREFUSED. Is redis-server running?`;
 * for a TLS problem (an untrusted server certificate, a missing client certificate) it says which
 * option or `STEM_TLS_*` environment variable to set instead.
 */
export class RedisConnectionError extends StemError {
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super('STEM_REDIS_CONNECTION', `Cannot connect to Redis at ${url}: ${reason}. ${options?.hint ?? 'Is redis-server running and reachable?'}`, options);
  }
}
