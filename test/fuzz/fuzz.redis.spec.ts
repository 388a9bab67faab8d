import { afterAll, describe } from 'vitest';
import { redisBadInputFixture } from '../adapters/bad-input.fixtures.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { runFuzzTests } from './fuzz.suite.js';

const available = await redisAvailable();
const prefix = uniquePrefix('fuzz');

describe.runIf(available)('fuzz: malformed entries in Redis streams', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  runFuzzTests('redis', () => redisBadInputFixture(prefix));
});
