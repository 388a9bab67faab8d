import { afterAll, describe } from 'vitest';
import { RedisLockStore, RedisRateLimiter, RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { runBrokerContractTests } from '../../lib/testing/broker.contract.js';
import { runLockStoreContractTests } from '../../lib/testing/lock-store.contract.js';
import { runRateLimiterContractTests } from '../../lib/testing/rate-limiter.contract.js';
import { runResultBackendContractTests } from '../../lib/testing/result-backend.contract.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('contract');

describe.runIf(available)('Redis adapters', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  runBrokerContractTests('redis', { create: () => RedisStreamsBroker.connect(REDIS_URL, { prefix }) });
  runResultBackendContractTests('redis', {
    create: () => RedisResultBackend.connect(REDIS_URL, { prefix }),
    // NOTE: Redis stores any bytes; a TTL it cannot parse is what it refuses for one status alone.
    refusedWrites: () => [{ id: uuidv7(), update: { state: 'succeeded', attempt: 0, payload: 1 }, options: { ttl: Number.NaN } }],
  });
  runLockStoreContractTests('redis', { create: () => RedisLockStore.connect(REDIS_URL, { prefix }) });
  runRateLimiterContractTests('redis', { create: () => RedisRateLimiter.connect(REDIS_URL, { prefix }) });
});
