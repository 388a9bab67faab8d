import { afterAll, describe } from 'vitest';
import { RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { runQueueEventsContractTests } from '../../lib/testing/queue-events.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('qevents');

describe.runIf(available)('Redis queue events', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  // NOTE: every broker subscribes on its own pub/sub connection, so each instance is a separate listener.
  runQueueEventsContractTests('redis', { create: () => RedisStreamsBroker.connect(REDIS_URL, { prefix }) });
});
