import { afterAll, describe } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { runRoutingTests } from './routing.suite.js';

const available = await redisAvailable();
const prefix = uniquePrefix('routing');

describe.runIf(available)('Redis routing', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  const opened: { close(): Promise<void> }[] = [];
  runRoutingTests('redis', {
    open: async () => {
      const parts = { broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), backend: await RedisResultBackend.connect(REDIS_URL, { prefix }) };
      opened.push(parts.broker, parts.backend);
      return parts;
    },
    close: async () => {
      for (const c of opened.splice(0)) await c.close();
    },
  });
});
