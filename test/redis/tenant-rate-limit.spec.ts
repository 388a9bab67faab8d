import { afterAll } from 'vitest';
import { RedisRateLimiter, RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { runTenantRateLimitSuite } from '../support/tenant-rate-limit.suite.js';
import { deleteKeys, uniquePrefix } from './redis-test-utils.js';

const available = await redisAvailable();
const prefix = uniquePrefix('tenant-rl');
const { hostname, port } = new URL(REDIS_URL);

if (available) {
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  runTenantRateLimitSuite('redis', {
    server: { host: hostname, port: Number(port || 6379) },
    async open() {
      const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
      const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
      return { broker, backend, close: () => Promise.all([broker.close(), backend.close()]) };
    },
    // NOTE: a command timeout turns "no reply from the server" into an error the worker sees.
    limiter: (host, p) => RedisRateLimiter.connect(`redis://${host}:${p}`, { prefix, commandTimeout: 300, connectTimeout: 2_000 }),
  });
}
