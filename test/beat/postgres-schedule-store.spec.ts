import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresLockStore, PostgresMigrationError } from '../../lib/adapters/postgres/index.js';
import { PostgresScheduleStore } from '../../lib/adapters/postgres/postgres.schedule-store.js';
import { Beat, ScheduleConflictError, Schedules, StemScheduler } from '../../lib/core/beat/index.js';
import type { ScheduleUpsert } from '../../lib/core/contracts/schedule-store.js';
import { TestClock } from '../../lib/core/utils/clock.js';
import { runScheduleStoreContractTests } from '../../lib/testing/schedule-store.contract.js';
import { dropSchema, eventually, POSTGRES_URL, recordingLogger } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schemas: string[] = [];
/** A fresh schema, dropped after the file: `stem_sched_<random>`. */
const freshSchema = (): string => {
  const schema = `stem_sched_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return schema;
};
const logger = recordingLogger();
const definition = (id: string, task = 't'): ScheduleUpsert => ({ id, task, spec: { kind: 'interval', every: 1_000 }, enabled: true, nextRunAt: 5 });

/** Opens a transaction on its own connection that holds `lockSql`, until `end` commits or rolls back. */
async function holdLock(lockSql: string, values: unknown[]): Promise<{ end(commit: boolean): Promise<void> }> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query('BEGIN');
  await client.query(lockSql, values);
  return {
    async end(commit) {
      try {
        await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      } finally {
        await client.end();
      }
    },
  };
}

/** Waits until `count` statements on `schema`'s schedules table wait for a lock. */
async function waitersOn(schema: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const blocked = await eventually(async () => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE $1`,
        [`%"${schema}".schedules%`],
      );
      return rows[0]!.n >= count;
    });
    expect(blocked).toBe(true);
  } finally {
    await client.end();
  }
}

describe.runIf(available)('Postgres schedule store', () => {
  afterAll(() => Promise.all(schemas.map(dropSchema)));

  const contractSchema = freshSchema();
  runScheduleStoreContractTests('postgres', { create: () => PostgresScheduleStore.connect(POSTGRES_URL, { schema: contractSchema, logger }) });

  it('replicas connecting to a fresh schema at once all get the same working table', async () => {
    const schema = freshSchema();
    const stores = await Promise.all([0, 1, 2, 3].map(() => PostgresScheduleStore.connect(POSTGRES_URL, { schema, logger, pool: { max: 2 } })));
    try {
      await stores[0]!.upsert(definition('shared'));
      for (const store of stores) expect((await store.get('shared'))?.version).toBe(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('writers that all read the same version before any of them writes still have exactly one winner', async () => {
    const schema = freshSchema();
    const store = await PostgresScheduleStore.connect(POSTGRES_URL, { schema, logger });
    try {
      const created = await store.upsert(definition('contended'));
      const lock = await holdLock(`SELECT 1 FROM "${schema}".schedules WHERE id = $1 FOR UPDATE`, [created.id]);
      const run = (n: number) => ({ version: 1, scheduledFor: 5, executedAt: 5 + n, success: true, taskId: `task-${n}`, nextRunAt: 1_005, drift: n });
      const writes = Promise.allSettled([1, 2, 3, 4].map((n) => store.markExecuted(created.id, run(n))));
      await waitersOn(schema, 4);
      await lock.end(true);
      const results = await writes;
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'ScheduleConflictError', expectedVersion: 1, actualVersion: 2 });
      expect(await store.get(created.id)).toEqual(won[0]!.value);
      expect(won[0]!.value).toMatchObject({ version: 2, runCount: 1 });
    } finally {
      await store.close();
    }
  });

  it('creators racing on a new id with expectedVersion 0 have exactly one winner', async () => {
    const schema = freshSchema();
    const store = await PostgresScheduleStore.connect(POSTGRES_URL, { schema, logger });
    try {
      // An uncommitted insert of the id makes every creator wait on it; rolling it back starts the race.
      const lock = await holdLock(`INSERT INTO "${schema}".schedules (id, version, enabled, source, next_run_at, entry) VALUES ($1, 1, false, 'runtime', NULL, '{}')`, ['fresh']);
      const creates = Promise.allSettled(['a', 'b', 'c', 'd'].map((task) => store.upsert(definition('fresh', task), { expectedVersion: 0 })));
      await waitersOn(schema, 4);
      await lock.end(false);
      const results = await creates;
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ScheduleConflictError)).toBe(true);
      expect(await store.get('fresh')).toEqual(won[0]!.value);
      expect(won[0]!.value.version).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('without migrations, a schema that does not exist is a PostgresMigrationError that says what to run', async () => {
    const schema = freshSchema();
    const connecting = PostgresScheduleStore.connect(POSTGRES_URL, { schema, logger, migrate: false });
    await expect(connecting).rejects.toBeInstanceOf(PostgresMigrationError);
    await expect(connecting).rejects.toThrow(/migratePostgres/);
  });

  it('three Beat replicas on one Postgres dispatch every due tick exactly once over 60 ticks', async () => {
    const T0 = Date.UTC(2030, 0, 1);
    const clock = new TestClock(T0);
    const schema = freshSchema();
    const stores = await Promise.all([0, 1, 2].map(() => PostgresScheduleStore.connect(POSTGRES_URL, { schema, logger, clock })));
    // Lock expiry runs on the server's real clock, so it is far longer than the simulated minute.
    const locks = await Promise.all([0, 1, 2].map(() => PostgresLockStore.connect(POSTGRES_URL, { schema, logger })));
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
      // Simulated time must not outrun Postgres round trips, or on-time ticks would look missed:
      // after each step, wait until every replica finished its poll and its dispatches.
      for (let i = 0; i < 120; i++) {
        await clock.advance(500);
        await new Promise((r) => setTimeout(r, 5));
        expect(await eventually(() => beats.every((beat) => beat.isIdle))).toBe(true);
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
      const stored = await stores[1]!.get('every-2s');
      expect(stored?.runCount).toBe(ticks('every-2s').length);
    } finally {
      await Promise.all([...stores, ...locks].map((s) => s.close()));
    }
  }, 30_000);
});
