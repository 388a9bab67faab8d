import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis.connection.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (first
 * use, or after a restart flushed the script cache).
 */
export class RedisScript {
  /** SHA1 of the source, as Redis computes it. */
  readonly sha: string;

  constructor(
    /** Name for error messages. */
    readonly name: string,
    /** Lua source. */
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; every key must hash to the same slot on a cluster. */
  async run<T = unknown>(connection: RedisConnection, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    try {
      return await connection.command<T>('evalsha', this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return connection.command<T>('eval', this.lua, keys.length, ...keys, ...args);
    }
  }
}
