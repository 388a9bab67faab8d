import { afterAll, describe, expect, it } from 'vitest';
import {
  migratePostgres,
  PostgresBroker,
  PostgresGroupStore,
  PostgresLockStore,
  PostgresRateLimiter,
  PostgresResultBackend,
  PostgresScheduleStore,
} from '../../lib/adapters/postgres/index.js';
import { RedisGroupStore, RedisLockStore, RedisRateLimiter, RedisResultBackend, RedisScheduleStore, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { createStemAdapters, type StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import type { ScheduleUpsert } from '../../lib/core/contracts/schedule-store.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';
import { adminQuery, dropSchema, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const entry = (id: string): ScheduleUpsert => ({ id, task: 'report.daily', spec: { kind: 'interval', every: 60_000 }, enabled: true, nextRunAt: Date.now() + 60_000 });

/**
 * What the app wrote through the module's factory, a script connecting each store by hand with
 * the same URL must see.
 */
async function appWrites(app: StemAdapters, queue: string, key: string): Promise<void> {
  await app.broker.publish(makeEnvelope(queue));
  await app.backend!.set(key, { state: 'succeeded', attempt: 0, payload: 42 });
  expect(await app.lockStore.acquire(key, 'app', 60_000)).toBe(true);
  expect((await app.rateLimiter.acquire(key, { tokens: 1, interval: 60_000 })).allowed).toBe(true);
  await app.scheduleStore!.upsert(entry(key));
  await app.groupStore.initGroup(key, 2);
}

const redis = await redisAvailable();
const postgres = await postgresAvailable();

describe.runIf(redis)('?prefix= in a Redis URL', () => {
  const prefix = uniquePrefix('url');
  const url = `${REDIS_URL}?prefix=${prefix}`;
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  it('is honoured by every store connected with the URL, as by the module', async () => {
    const app = await createStemAdapters({ broker: url });
    const queue = uniqueName('url');
    const key = uniqueName('k');
    const script = [
      await RedisStreamsBroker.connect(url),
      await RedisResultBackend.connect(url),
      await RedisLockStore.connect(url),
      await RedisRateLimiter.connect(url),
      await RedisScheduleStore.connect(url),
      await RedisGroupStore.connect(url),
    ] as const;
    try {
      await appWrites(app, queue, key);
      const [broker, backend, locks, limiter, schedules, groups] = script;
      expect(await broker.pendingCount(queue)).toBe(1);
      expect((await backend.get(key))?.state).toBe('succeeded');
      expect(await locks.acquire(key, 'script', 60_000)).toBe(false);
      expect((await limiter.acquire(key, { tokens: 1, interval: 60_000 })).allowed).toBe(false);
      expect((await schedules.get(key))?.task).toBe('report.daily');
      expect((await groups.getGroup(key))?.expected).toBe(2);
      const other = await RedisStreamsBroker.connect(REDIS_URL);
      expect(await other.pendingCount(queue)).toBe(0);
      await other.close();
    } finally {
      for (const store of script) await store.close();
      await app.close();
    }
  });

  it('must agree with an explicit prefix option', async () => {
    await expect(RedisStreamsBroker.connect(url, { prefix: 'other' })).rejects.toThrow(
      `Invalid option "prefix": "${REDIS_URL}?prefix=${prefix}" says prefix "${prefix}" but the options say "other"; set it in one place`,
    );
    await expect(RedisLockStore.connect(`${REDIS_URL}?prefix=`)).rejects.toThrow(/has an empty \?prefix=/);
    const same = await RedisStreamsBroker.connect(url, { prefix });
    await same.close();
  });
});

describe.runIf(postgres)('?schema= in a Postgres URL', () => {
  const schema = testSchema();
  const url = `${POSTGRES_URL}?schema=${schema}`;
  const fresh = testSchema();
  afterAll(async () => {
    await dropSchema(schema);
    await dropSchema(fresh);
  });

  it('is honoured by every store connected with the URL, as by the module', async () => {
    const logger = recordingLogger();
    const app = await createStemAdapters({ broker: url, logger });
    const queue = uniqueName('url');
    const key = uniqueName('k');
    const script = [
      await PostgresBroker.connect(url, { logger }),
      await PostgresResultBackend.connect(url, { logger }),
      await PostgresLockStore.connect(url, { logger }),
      await PostgresRateLimiter.connect(url, { logger }),
      await PostgresScheduleStore.connect(url, { logger }),
      await PostgresGroupStore.connect(url, { logger }),
    ] as const;
    try {
      await appWrites(app, queue, key);
      const [broker, backend, locks, limiter, schedules, groups] = script;
      expect(await broker.pendingCount(queue)).toBe(1);
      expect((await backend.get(key))?.state).toBe('succeeded');
      expect(await locks.acquire(key, 'script', 60_000)).toBe(false);
      expect((await limiter.acquire(key, { tokens: 1, interval: 60_000 })).allowed).toBe(false);
      expect((await schedules.get(key))?.task).toBe('report.daily');
      expect((await groups.getGroup(key))?.expected).toBe(2);
      const { rows } = await adminQuery(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE queue = $1`, [queue]);
      expect(rows[0]!.n).toBe(1);
    } finally {
      for (const store of script) await store.close();
      await app.close();
    }
  });

  it('is honoured by migratePostgres, and must agree with an explicit schema option', async () => {
    const report = await migratePostgres(`${POSTGRES_URL}?schema=${fresh}`, { logger: recordingLogger() });
    expect(report.applied.length).toBeGreaterThan(0);
    const { rowCount } = await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [fresh]);
    expect(rowCount).toBe(1);
    await expect(PostgresBroker.connect(url, { schema: 'other' })).rejects.toThrow(
      `Invalid option "schema": "${url}" says schema "${schema}" but the options say "other"; set it in one place`,
    );
  });
});
