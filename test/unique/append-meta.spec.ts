import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend } from '../../lib/adapters/redis/index.js';
import type { ResultBackend, TaskStatus } from '../../lib/core/index.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const redis = await redisAvailable();
const postgres = await postgresAvailable();
const prefix = uniquePrefix('append-meta');
const schema = testSchema();

const backends: [string, boolean, () => Promise<ResultBackend>][] = [
  ['memory', true, async () => new InMemoryResultBackend()],
  ['redis', redis, () => RedisResultBackend.connect(REDIS_URL, { prefix })],
  ['postgres', postgres, () => PostgresResultBackend.connect(POSTGRES_URL, { schema, logger: recordingLogger() })],
];

afterAll(async () => {
  if (redis) await deleteKeys(REDIS_URL, prefix);
  if (postgres) await dropSchema(schema);
});

describe.each(backends)('ResultBackend.appendMeta: %s', (_name, available, connect) => {
  it.runIf(available)('appends to a meta array atomically, keeping the stored JSON exact and the status as it is', async () => {
    const backend = await connect();
    try {
      const id = `append-${Math.random().toString(36).slice(2)}`;
      await backend.appendMeta!(id, 'list', [1]);
      expect(await backend.get(id)).toBeNull();
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 42, meta: { list: 'not an array', other: 'kept' } });
      const seen: TaskStatus[] = [];
      const watch = await backend.watch(id, (s) => seen.push(s));
      await backend.appendMeta!(id, 'list', [{ empty: [], obj: {}, big: 1234567890123456 }]);
      await Promise.all(Array.from({ length: 30 }, (_, i) => backend.appendMeta!(id, 'list', [i])));
      const status = await backend.get(id);
      expect(status).toMatchObject({ state: 'succeeded', payload: 42, meta: { other: 'kept' } });
      const list = status!.meta.list as unknown[];
      expect(list[0]).toEqual({ empty: [], obj: {}, big: 1234567890123456 });
      expect(list.slice(1).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 30 }, (_, i) => i));
      await expect.poll(() => seen.length, { timeout: 3_000 }).toBeGreaterThan(0);
      await watch.close();
    } finally {
      await backend.close();
    }
  });
});
