import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleStore, ScheduleUpsert } from '../core/contracts/schedule-store.js';
import { ScheduleConflictError } from '../core/errors/schedule-conflict.error.js';
import { uniqueName } from './contract-helpers.js';

/** How the schedule store suite gets fresh instances. */
export interface ScheduleStoreContractFactory {
  create(): Promise<ScheduleStore>;
  dispose?(store: ScheduleStore): Promise<void>;
}

/**
 * The behaviours every {@link ScheduleStore} must show. Entry ids are unique per test, so a shared
 * backing store (one Redis, one Postgres schema) may be reused across tests.
 */
export function runScheduleStoreContractTests(adapter: string, factory: ScheduleStoreContractFactory): void {
  describe(`ScheduleStore contract: ${adapter}`, () => {
    let store: ScheduleStore;
    let prefix: string;
    const T0 = Date.UTC(2030, 0, 1);
    const entry = (name: string, overrides: Partial<ScheduleUpsert> = {}): ScheduleUpsert => ({
      id: `${prefix}.${name}`,
      task: 'reports.build',
      args: { format: 'pdf', recipients: ['a@example.com'] },
      options: { queue: 'reports', priority: 5, headers: { tenant: 't1' } },
      spec: { kind: 'interval', every: 60_000 },
      timezone: 'UTC',
      enabled: true,
      nextRunAt: T0,
      ...overrides,
    });
    const ran = (version: number, at: number, extra: Record<string, unknown> = {}) => ({
      version,
      scheduledFor: at,
      executedAt: at + 40,
      success: true,
      taskId: `task-${at}`,
      nextRunAt: at + 60_000,
      drift: 40,
      jitter: 10,
      ...extra,
    });

    beforeEach(async () => {
      store = await factory.create();
      prefix = uniqueName('sched');
    });
    afterEach(async () => {
      await (factory.dispose ? factory.dispose(store) : store.close());
    });

    it('creates an entry at version 1 with empty run state and reads it back intact', async () => {
      const input = entry('a', {
        spec: { kind: 'solar', event: 'sunset', latitude: 51.5, longitude: -0.12, offset: -1_800_000 },
        timezone: 'Europe/London',
        jitter: 2_000,
        description: 'evening report',
        source: 'code',
        meta: { owner: 'ops', tags: ['x'] },
      });
      const created = await store.upsert(input);
      expect(created).toMatchObject({ ...input, version: 1, runCount: 0, failureCount: 0 });
      expect(created.lastRunAt).toBeUndefined();
      expect(created.createdAt).toBeGreaterThan(0);
      expect(await store.get(input.id)).toEqual(created);
      expect(await store.get(`${prefix}.missing`)).toBeNull();
    });

    it('upsert of an existing entry replaces its definition, keeps run state and createdAt, bumps the version', async () => {
      const created = await store.upsert(entry('a'));
      const afterRun = await store.markExecuted(created.id, ran(1, T0));
      const updated = await store.upsert(entry('a', { task: 'reports.other', spec: { kind: 'cron', expression: '0 9 * * *' }, nextRunAt: T0 + 5 }));
      expect(updated).toMatchObject({
        task: 'reports.other',
        spec: { kind: 'cron', expression: '0 9 * * *' },
        nextRunAt: T0 + 5,
        version: 3,
        runCount: 1,
        lastRunAt: T0 + 40,
        createdAt: created.createdAt,
      });
      expect(updated.updatedAt).toBeGreaterThanOrEqual(afterRun.updatedAt);
    });

    it('conditional upsert: expectedVersion 0 only creates; a stale version is a ScheduleConflictError', async () => {
      const created = await store.upsert(entry('a'), { expectedVersion: 0 });
      await expect(store.upsert(entry('a'), { expectedVersion: 0 })).rejects.toBeInstanceOf(ScheduleConflictError);
      await store.upsert(entry('a', { task: 'v2' }), { expectedVersion: created.version });
      const stale = store.upsert(entry('a', { task: 'v3' }), { expectedVersion: created.version });
      await expect(stale).rejects.toMatchObject({ name: 'ScheduleConflictError', scheduleId: created.id, expectedVersion: 1, actualVersion: 2 });
      expect((await store.get(created.id))?.task).toBe('v2');
    });

    it('lists entries by id, filtered by enabled and source', async () => {
      await store.upsert(entry('c', { enabled: false }));
      await store.upsert(entry('a', { source: 'code' }));
      await store.upsert(entry('b'));
      const mine = (list: { id: string }[]) => list.map((e) => e.id.slice(prefix.length + 1)).filter((id) => id.length === 1);
      const inList = async (filter?: Parameters<ScheduleStore['list']>[0]) => mine((await store.list(filter)).filter((e) => e.id.startsWith(prefix)));
      expect(await inList()).toEqual(['a', 'b', 'c']);
      expect(await inList({ enabled: true })).toEqual(['a', 'b']);
      expect(await inList({ enabled: false })).toEqual(['c']);
      expect(await inList({ source: 'code' })).toEqual(['a']);
      expect(await inList({ source: 'runtime' })).toEqual(['b', 'c']);
    });

    it('due() returns enabled entries whose next run has come, earliest first, up to the limit', async () => {
      // Long before every other test's entries, so a shared store's other entries are not due.
      const now = Date.UTC(2001, 0, 1);
      await store.upsert(entry('late', { nextRunAt: now - 1_000 }));
      await store.upsert(entry('early', { nextRunAt: now - 5_000 }));
      await store.upsert(entry('exact', { nextRunAt: now }));
      await store.upsert(entry('future', { nextRunAt: now + 1 }));
      await store.upsert(entry('disabled', { nextRunAt: now - 9_000, enabled: false }));
      await store.upsert(entry('finished', { nextRunAt: null }));
      const ids = (list: { id: string }[]) => list.filter((e) => e.id.startsWith(prefix)).map((e) => e.id.slice(prefix.length + 1));
      expect(ids(await store.due(now))).toEqual(['early', 'late', 'exact']);
      expect(ids(await store.due(now, 2))).toEqual(['early', 'late']);
      expect(ids(await store.due(now - 6_000))).toEqual([]);
    });

    it('markExecuted records the run: last and next run, count, task id, jitter and drift', async () => {
      const created = await store.upsert(entry('a'));
      const after = await store.markExecuted(created.id, ran(1, T0));
      expect(after).toMatchObject({
        version: 2,
        runCount: 1,
        failureCount: 0,
        lastRunAt: T0 + 40,
        lastScheduledFor: T0,
        lastSuccessAt: T0 + 40,
        lastTaskId: `task-${T0}`,
        lastJitter: 10,
        drift: 40,
        nextRunAt: T0 + 60_000,
        enabled: true,
      });
      expect(await store.get(created.id)).toEqual(after);
    });

    it('markExecuted records failures and keeps the last error after a later success', async () => {
      const created = await store.upsert(entry('a'));
      const failed = await store.markExecuted(created.id, ran(1, T0, { success: false, error: 'broker down' }));
      expect(failed).toMatchObject({ runCount: 1, failureCount: 1, lastError: 'broker down', lastErrorAt: T0 + 40 });
      expect(failed.lastSuccessAt).toBeUndefined();
      const ok = await store.markExecuted(created.id, ran(2, T0 + 60_000));
      expect(ok).toMatchObject({ runCount: 2, failureCount: 1, lastError: 'broker down', lastErrorAt: T0 + 40, lastSuccessAt: T0 + 60_040 });
    });

    it('markExecuted can disable an entry with no next run (a clocked entry after its run)', async () => {
      const created = await store.upsert(entry('once', { spec: { kind: 'clocked', runAt: T0 } }));
      const after = await store.markExecuted(created.id, ran(1, T0, { nextRunAt: null, enabled: false }));
      expect(after).toMatchObject({ enabled: false, nextRunAt: null, runCount: 1 });
      expect((await store.due(T0 + 10 ** 9)).some((e) => e.id === created.id)).toBe(false);
    });

    it('a stale markExecuted is a conflict and changes nothing; concurrent writers of one version have one winner', async () => {
      const created = await store.upsert(entry('a'));
      await store.markExecuted(created.id, ran(1, T0));
      await expect(store.markExecuted(created.id, ran(1, T0))).rejects.toBeInstanceOf(ScheduleConflictError);
      expect((await store.get(created.id))?.runCount).toBe(1);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.markExecuted(created.id, ran(2, T0 + 60_000))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ScheduleConflictError)).toBe(true);
      expect(await store.get(created.id)).toMatchObject({ runCount: 2, version: 3 });
    });

    it('reschedule moves the next run and can toggle enabled without counting a run; stale versions conflict', async () => {
      const created = await store.upsert(entry('a'));
      const moved = await store.reschedule(created.id, { version: 1, nextRunAt: T0 + 120_000 });
      expect(moved).toMatchObject({ nextRunAt: T0 + 120_000, runCount: 0, version: 2, enabled: true });
      const off = await store.reschedule(created.id, { version: 2, nextRunAt: T0 + 120_000, enabled: false });
      expect(off.enabled).toBe(false);
      await expect(store.reschedule(created.id, { version: 2, nextRunAt: 1 })).rejects.toBeInstanceOf(ScheduleConflictError);
    });

    it('remove deletes an entry once; writes to a removed entry conflict', async () => {
      const created = await store.upsert(entry('a'));
      expect(await store.remove(created.id)).toBe(true);
      expect(await store.remove(created.id)).toBe(false);
      expect(await store.get(created.id)).toBeNull();
      await expect(store.markExecuted(created.id, ran(1, T0))).rejects.toBeInstanceOf(ScheduleConflictError);
    });
  });
}
