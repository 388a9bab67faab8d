import { afterAll, describe } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { runIntrospectionContractTests } from '../../lib/testing/introspection.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('introspection');

describe.runIf(available)('Redis operations queries', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  runIntrospectionContractTests('redis', {
    create: async (options) => ({
      broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }),
      backend: await RedisResultBackend.connect(REDIS_URL, { prefix, ...options }),
    }),
    argsSearch: false,
  });
});
