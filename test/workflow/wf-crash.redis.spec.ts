import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { RedisStreamsBroker, RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { RedisServer } from '../redis/redis-server.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import type { CrashBackend } from './wf-crash.suite.js';
import { runWorkflowCrashTests } from './wf-crash.suite.js';

const available = await redisAvailable();

async function backendOn(url: string, prefix: string): Promise<CrashBackend> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  // NOTE: a poll slower than any test, so waitForCompletion can only be woken by pub/sub.
  const store = await RedisWorkflowStore.connect(url, { prefix, watchPollInterval: 600_000 });
  const broker = await RedisStreamsBroker.connect(url, { prefix });
  return {
    store,
    broker,
    env: { STEM_BACKEND: 'redis', STEM_URL: url, STEM_PREFIX: prefix },
    counts: async () => {
      const counts = new Map<string, number>();
      for (const member of await redis.smembers(`${prefix}:exec`)) {
        const key = member.slice(0, member.lastIndexOf(' '));
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    close: async () => {
      await store.close();
      await broker.close();
      redis.disconnect();
    },
  };
}

describe.runIf(available)('workflow crash tests on Redis (worker processes)', () => {
  const prefixes: string[] = [];
  const servers: RedisServer[] = [];
  // NOTE: scanning a shared, busy Redis for the test keys can outlast the default hook timeout.
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(REDIS_URL, prefix);
    for (const server of servers) await server.stop();
  }, 60_000);

  runWorkflowCrashTests(
    async () => {
      const prefix = uniquePrefix('wf-crash');
      prefixes.push(prefix);
      return backendOn(REDIS_URL, prefix);
    },
    async () => {
      const server = await RedisServer.start();
      servers.push(server);
      return { backend: await backendOn(server.url, 'stem'), server };
    },
  );
});
