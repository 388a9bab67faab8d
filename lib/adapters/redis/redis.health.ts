import type { RedisOptions } from 'ioredis';
import { ConfigurationError } from '../../core/errors/configuration.error.js';

/** How Redis connections notice a dead peer (a half-open or black-holed path). */
export interface RedisHealthOptions {
  /**
   * TCP keepalive: ms of silence before the kernel sends its first probe (`0` turns it off). It
   * helps the operating system notice a dead peer; the bounded detection is the health check.
   * @default 10000
   */
  readonly keepAlive?: number;
  /**
   * Longest wait for the reply to one (non-blocking) command, in ms; past it the command fails with
   * a `RedisDeadConnectionError`. Off by default: a command on a dead connection waits for
   * the health check to replace the connection and is then sent again, so callers see no error.
   * A timed-out command may still reach the server later (it was sent), so treat the error as
   * "outcome unknown", as with any at-least-once write.
   * @default undefined (no per-command timeout)
   */
  readonly commandTimeout?: number;
  /**
   * How often every connection is checked, in ms: an idle one with a PING, a blocking read by
   * capping its BLOCK time at this interval. `0` turns the health check off.
   * @default 5000
   */
  readonly healthCheckInterval?: number;
  /**
   * How long a PING, or a blocking read past its BLOCK time, may go unanswered before the
   * connection is declared dead (reported to `onError` as a `RedisDeadConnectionError`) and
   * replaced. A dead path is therefore noticed within `healthCheckInterval + deadConnectionTimeout`.
   * @default 10000
   */
  readonly deadConnectionTimeout?: number;
}

/** Defaults of {@link RedisHealthOptions}. */
export const REDIS_HEALTH_DEFAULTS = { keepAlive: 10_000, healthCheckInterval: 5_000, deadConnectionTimeout: 10_000 } as const;

/** @throws ConfigurationError naming the first dead-connection option that is not a usable number of ms */
export function assertHealthOptions(options: RedisHealthOptions): void {
  const checks: [keyof RedisHealthOptions, number | undefined, boolean][] = [
    ['deadConnectionTimeout', options.deadConnectionTimeout, false],
    ['healthCheckInterval', options.healthCheckInterval, true],
    ['keepAlive', options.keepAlive, true],
    ['commandTimeout', options.commandTimeout, true],
  ];
  for (const [option, value, zeroAllowed] of checks) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
      throw new ConfigurationError(
        option,
        `expected ${zeroAllowed ? 'a number of ms ≥ 0 (0 turns it off)' : 'a positive number of ms'} for the Redis connection, got ${String(value)}`,
      );
    }
  }
}

/** `promise`, or a rejection with `timeoutError()` after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The ioredis `keepAlive` setting `options` stand for. */
export function keepAliveOption(options: RedisHealthOptions): RedisOptions {
  const ms = options.keepAlive ?? REDIS_HEALTH_DEFAULTS.keepAlive;
  return ms > 0 ? { keepAlive: ms } : {};
}
