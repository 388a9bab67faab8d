import { vi } from 'vitest';
import { RedisConnection } from '../../lib/adapters/redis/redis.connection.js';
import { scripts } from '../../lib/adapters/redis/scripts/index.js';

const scriptNames = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));

/**
 * The requests sent on every Redis connection of this process while `fn` runs, in order: command
 * names, or with `names: 'scripts'` each script by its name and each blocking read as
 * `<command> (blocking)`.
 */
export async function redisRequestsDuring(fn: () => Promise<unknown>, options: { names?: 'commands' | 'scripts' } = {}): Promise<string[]> {
  const sent: string[] = [];
  const byScript = options.names === 'scripts';
  const command = RedisConnection.prototype.command;
  const blocking = RedisConnection.prototype.blocking;
  const spies: { mockRestore(): void }[] = [
    vi.spyOn(RedisConnection.prototype, 'command').mockImplementation(function (this: RedisConnection, name, ...args) {
      sent.push(byScript && name === 'evalsha' ? (scriptNames.get(String(args[0])) ?? 'script') : name);
      return command.call(this, name, ...args);
    }),
  ];
  if (byScript) {
    spies.push(
      vi.spyOn(RedisConnection.prototype, 'blocking').mockImplementation(function (this: RedisConnection, ms, name, ...args) {
        sent.push(`${name} (blocking)`);
        return blocking.call(this, ms, name, ...args);
      }),
    );
  }
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return sent;
}
