import { describe, expect, it } from 'vitest';
import { InMemoryScheduleStore } from '../../lib/adapters/memory/index.js';
import { InvalidScheduleError, ScheduleNotFoundError, type ScheduleInput, Schedules, StemScheduler } from '../../lib/core/beat/index.js';
import { TestClock } from '../../lib/core/utils/clock.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

function setup() {
  const clock = new TestClock(T0);
  const store = new InMemoryScheduleStore({ clock });
  return { clock, store, scheduler: new StemScheduler({ store, clock }) };
}

describe('StemScheduler', () => {
  it('adds entries that persist in the store with their first run, and lists, disables, enables and removes them', async () => {
    const { scheduler, store, clock } = setup();
    const added = await scheduler.add({ id: 'digest', task: 'email.digest', schedule: Schedules.cron('0 8 * * *'), timezone: 'Europe/London', jitter: '30s' });
    expect(added).toMatchObject({ source: 'runtime', enabled: true, jitter: 30_000, nextRunAt: Date.UTC(2030, 0, 1, 8), timezone: 'Europe/London' });
    expect(await store.get('digest')).toEqual(added);
    expect((await scheduler.list()).map((e) => e.id)).toEqual(['digest']);

    expect(await scheduler.disable('digest')).toMatchObject({ enabled: false });
    await clock.advance(33 * 60 * MINUTE); // 2030-01-02 09:00, past that day's 08:00
    const enabled = await scheduler.enable('digest');
    // Runs missed while disabled are not replayed: the next run is tomorrow's.
    expect(enabled).toMatchObject({ enabled: true, nextRunAt: Date.UTC(2030, 0, 3, 8) });
    expect(await scheduler.remove('digest')).toBe(true);
    await expect(scheduler.enable('digest')).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('rejects invalid entries with errors naming the entry', async () => {
    const { scheduler } = setup();
    await expect(scheduler.add({ id: 'bad', task: 't', schedule: Schedules.cron('0 25 * * *') })).rejects.toThrow(/Schedule "bad" is invalid: cron expression "0 25 \* \* \*"/);
    await expect(scheduler.add({ id: 'tz', task: 't', schedule: Schedules.every('1m'), timezone: 'Nowhere/City' })).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(scheduler.add({ id: 'j', task: 't', schedule: Schedules.every('1m'), jitter: 'soon' })).rejects.toThrow(/"j".*jitter "soon"/);
    await expect(scheduler.add({ id: 'notask', task: '', schedule: Schedules.every('1m') })).rejects.toThrow(/"notask".*task/);
  });

  it('syncDefinitions upserts code entries without clobbering run state, and is a no-op when nothing changed', async () => {
    const { scheduler, store } = setup();
    const defs: ScheduleInput[] = [
      { id: 'cleanup', task: 'files.cleanup', schedule: Schedules.every('1h') },
      { id: 'report', task: 'reports.build', schedule: Schedules.cron('0 6 * * *') },
    ];
    expect(await scheduler.syncDefinitions(defs)).toEqual({ created: ['cleanup', 'report'], updated: [], unchanged: [], removed: [] });
    const before = await store.get('cleanup');
    await store.markExecuted('cleanup', {
      version: before!.version,
      scheduledFor: before!.nextRunAt!,
      executedAt: before!.nextRunAt! + 5,
      success: true,
      nextRunAt: before!.nextRunAt! + 60 * MINUTE,
      drift: 5,
    });
    await scheduler.disable('report');

    // A second boot with the same definitions writes nothing.
    expect(await scheduler.syncDefinitions(defs)).toEqual({ created: [], updated: [], unchanged: ['cleanup', 'report'], removed: [] });
    // A new argument keeps the run state, the next run and the ops toggle.
    const changed = [{ ...defs[0]!, args: { olderThan: '7d' } }, defs[1]!];
    expect((await scheduler.syncDefinitions(changed)).updated).toEqual(['cleanup']);
    expect(await store.get('cleanup')).toMatchObject({ args: { olderThan: '7d' }, runCount: 1, lastRunAt: before!.nextRunAt! + 5, nextRunAt: before!.nextRunAt! + 60 * MINUTE });
    expect((await store.get('report'))!.enabled).toBe(false);
    // A new spec recomputes the next run.
    await scheduler.syncDefinitions([{ ...changed[0]!, schedule: Schedules.every('15m') }, defs[1]!]);
    expect(await store.get('cleanup')).toMatchObject({ spec: { kind: 'interval', every: 15 * MINUTE }, nextRunAt: T0 + 15 * MINUTE, runCount: 1 });
  });

  it('syncDefinitions prunes code entries no longer defined, never runtime ones', async () => {
    const { scheduler, store } = setup();
    await scheduler.syncDefinitions([
      { id: 'old', task: 't', schedule: Schedules.every('1m') },
      { id: 'kept', task: 't', schedule: Schedules.every('1m') },
    ]);
    await scheduler.add({ id: 'from-cli', task: 't', schedule: Schedules.every('1m') });
    expect((await scheduler.syncDefinitions([{ id: 'kept', task: 't', schedule: Schedules.every('1m') }])).removed).toEqual(['old']);
    expect((await store.list()).map((e) => `${e.id}:${e.source}`)).toEqual(['from-cli:runtime', 'kept:code']);
  });

  it('syncDefinitions validates every definition before writing any, and rejects duplicate ids', async () => {
    const { scheduler, store } = setup();
    await expect(
      scheduler.syncDefinitions([
        { id: 'fine', task: 't', schedule: Schedules.every('1m') },
        { id: 'broken', task: 't', schedule: Schedules.cron('nope') },
      ]),
    ).rejects.toThrow(/"broken"/);
    await expect(
      scheduler.syncDefinitions([
        { id: 'twice', task: 'a', schedule: Schedules.every('1m') },
        { id: 'twice', task: 'b', schedule: Schedules.every('1m') },
      ]),
    ).rejects.toThrow(/"twice".*defined twice/);
    expect(await store.list()).toEqual([]);
  });

  it('keeps a clocked entry that already ran disabled across restarts, and refuses to re-enable it', async () => {
    const { scheduler, store } = setup();
    const def = { id: 'launch', task: 't', schedule: Schedules.at(T0 + MINUTE) };
    const created = (await scheduler.syncDefinitions([def]), await store.get('launch'))!;
    await store.markExecuted('launch', { version: created.version, scheduledFor: T0 + MINUTE, executedAt: T0 + MINUTE, success: true, nextRunAt: null, drift: 0, enabled: false });
    expect((await scheduler.syncDefinitions([def])).unchanged).toEqual(['launch']);
    expect((await store.get('launch'))!.enabled).toBe(false);
    await expect(scheduler.enable('launch')).rejects.toThrow(/"launch".*no future run/);
  });

  it('previews upcoming runs of a saved entry or an unsaved definition', async () => {
    const { scheduler } = setup();
    await scheduler.add({ id: 'q', task: 't', schedule: Schedules.every('15m', { startAt: T0 }) });
    expect(await scheduler.preview('q', 3)).toEqual([T0 + 15 * MINUTE, T0 + 30 * MINUTE, T0 + 45 * MINUTE]);
    expect(await scheduler.preview({ id: 'x', task: 't', schedule: Schedules.cron('0 9 * * *'), timezone: 'America/New_York' }, 1)).toEqual([Date.UTC(2030, 0, 1, 14)]);
  });
});
