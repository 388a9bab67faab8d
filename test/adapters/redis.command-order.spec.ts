import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection } from '../../lib/adapters/redis/redis.connection.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('command-order');

describe.runIf(available)('RedisConnection: commands sent at once and auto-pipelined ones', () => {
  let connection: RedisConnection;
  beforeAll(async () => {
    connection = await RedisConnection.open(REDIS_URL, { cluster: false });
  });
  afterAll(async () => {
    connection.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('applies commands in call order, whether a command went out at once or waited for a pipeline', async () => {
    const key = `${prefix}:list`;
    const pushes: Promise<unknown>[] = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      // NOTE: the first push of a burst finds the connection idle; the rest join a pipeline.
      for (let i = 0; i < (round % 5) + 1; i++) pushes.push(connection.command('rpush', key, n++));
      if (round % 3 === 0) await pushes[pushes.length - 1];
      else if (round % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pushes);
    const stored = await connection.command<string[]>('lrange', key, 0, -1);
    expect(stored.map(Number)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('returns replies as strings either way', async () => {
    const key = `${prefix}:s`;
    await connection.command('set', key, 'é');
    expect(await connection.command('get', key)).toBe('é');
    const [a, b] = await Promise.all([connection.command('get', key), connection.command('strlen', key)]);
    expect([a, b]).toEqual(['é', 2]);
  });
});
