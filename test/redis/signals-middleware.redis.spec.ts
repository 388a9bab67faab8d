import { afterAll, describe } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { runSignalsMiddlewareTests } from '../core/signals-middleware.suite.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { deleteKeys, uniquePrefix } from './redis-test-utils.js';

const available = await redisAvailable();
const prefix = uniquePrefix('signals');

describe.runIf(available)('signals and middleware on Redis', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  runSignalsMiddlewareTests(async () => {
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    return {
      broker,
      backend,
      close: async () => {
        await broker.close();
        await backend.close();
      },
    };
  });
});
