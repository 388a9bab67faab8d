import { afterAll, describe, expect, it } from 'vitest';
import { RedisLockStore } from '../../lib/adapters/redis/index.js';
import { RedisScheduleStore } from '../../lib/adapters/redis/redis.schedule-store.js';
import { Beat, Schedules, StemScheduler } from '../../lib/core/beat/index.js';
import { TestClock } from '../../lib/core/utils/clock.js';
import { runScheduleStoreContractTests } from '../../lib/testing/schedule-store.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('schedules');

/** Resolves once `check` holds (polling every 2 ms), failing the test after 5 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('the Beat replicas did not settle within 5 s');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe.runIf(available)('Redis schedule store', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  runScheduleStoreContractTests('redis', { create: () => RedisScheduleStore.connect(REDIS_URL, { prefix }) });

  it('three Beat replicas on one Redis dispatch every due tick exactly once over 60 ticks', async () => {
    const T0 = Date.UTC(2030, 0, 1);
    const clock = new TestClock(T0);
    const own = uniquePrefix('beat3');
    const stores = await Promise.all([0, 1, 2].map(() => RedisScheduleStore.connect(REDIS_URL, { prefix: own, clock })));
    // Lock TTLs run on Redis' real clock, so they are far longer than the simulated minute.
    const locks = await Promise.all([0, 1, 2].map(() => RedisLockStore.connect(REDIS_URL, { prefix: own })));
    const dispatched: string[] = [];
    const stem = {
      enqueue: async (_name: string, _args?: unknown, options?: { headers?: Record<string, string>; meta?: Record<string, unknown> }) => {
        dispatched.push(`${options?.headers?.['schedule-id']}@${Number(options?.meta?.['stem.scheduledFor']) - T0}`);
        return 'id';
      },
    };
    try {
      const scheduler = new StemScheduler({ store: stores[0]!, clock });
      await scheduler.add({ id: 'every-2s', task: 't', schedule: Schedules.every('2s', { startAt: T0 }) });
      await scheduler.add({ id: 'cron-5s', task: 't', schedule: Schedules.cron('*/5 * * * * *') });
      const beats = [0, 1, 2].map((i) => new Beat({ store: stores[i]!, lockStore: locks[i]!, stem, clock, lockTtl: 60_000 }));
      for (const beat of beats) await beat.start();
      // Simulated time must not outrun Redis round trips, or on-time ticks would look missed:
      // after each step, wait until every replica finished its poll and its dispatches.
      for (let i = 0; i < 120; i++) {
        await clock.advance(500);
        await new Promise((r) => setTimeout(r, 5));
        await until(() => beats.every((beat) => beat.isIdle));
      }
      for (const beat of beats) await beat.stop();
      expect(new Set(dispatched).size).toBe(dispatched.length);
      const ticks = (id: string) =>
        dispatched
          .filter((d) => d.startsWith(`${id}@`))
          .map((d) => Number(d.split('@')[1]))
          .sort((a, b) => a - b);
      const grid = (every: number, upTo: number) => Array.from({ length: Math.floor(upTo / every) }, (_, k) => (k + 1) * every);
      expect(ticks('every-2s').filter((t) => t <= 58_000)).toEqual(grid(2_000, 58_000));
      expect(ticks('cron-5s').filter((t) => t <= 55_000)).toEqual(grid(5_000, 55_000));
    } finally {
      await Promise.all([...stores, ...locks].map((s) => s.close()));
      await deleteKeys(REDIS_URL, own);
    }
  }, 30_000);
});
