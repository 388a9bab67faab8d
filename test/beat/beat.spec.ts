import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryLockStore, InMemoryScheduleStore } from '../../lib/adapters/memory/index.js';
import { Beat, type BeatMetric, type BeatOptions, type ScheduleDispatch, scheduledTaskId, Schedules, StemScheduler } from '../../lib/core/beat/index.js';
import type { LockStore } from '../../lib/core/contracts/lock-store.js';
import type { ScheduleStore } from '../../lib/core/contracts/schedule-store.js';
import { Stem } from '../../lib/core/stem.js';
import type { EnqueueOptions } from '../../lib/core/task-options.js';
import { TestClock } from '../../lib/core/utils/clock.js';

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;

interface Call {
  name: string;
  args: unknown;
  options: EnqueueOptions;
  at: number;
}

/** A shared store, lock store and broker, with Beat replicas on them. */
function world(options: { store?: ScheduleStore; lockStore?: LockStore; clock?: TestClock } = {}) {
  const clock = options.clock ?? new TestClock(T0);
  const store = options.store ?? new InMemoryScheduleStore({ clock });
  const lockStore = options.lockStore ?? new InMemoryLockStore({ clock });
  const broker = new InMemoryBroker({ clock });
  const stem = new Stem({ broker, clock });
  const calls: Call[] = [];
  let failNext = 0;
  const enqueuer = {
    enqueue: async (name: string, args?: unknown, opts: EnqueueOptions = {}) => {
      if (failNext > 0) {
        failNext--;
        throw new Error('broker unreachable');
      }
      calls.push({ name, args, options: opts, at: clock.now() });
      return stem.enqueue(name, args, opts);
    },
  };
  const scheduler = new StemScheduler({ store, clock });
  const beats: Beat[] = [];
  const beat = (extra: Partial<BeatOptions> = {}) => {
    const b = new Beat({ store, stem: enqueuer, lockStore, clock, ...extra });
    beats.push(b);
    opened.push(() => b.stop());
    return b;
  };
  const ticks = (id: string) => calls.filter((c) => c.options.headers?.['schedule-id'] === id).map((c) => c.options.meta?.['stem.scheduledFor'] as number);
  return {
    clock,
    store,
    lockStore,
    broker,
    scheduler,
    beat,
    beats,
    calls,
    ticks,
    failNextEnqueues: (n: number) => {
      failNext = n;
    },
  };
}

const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

/** Advances in small steps so replicas' timers interleave. */
async function run(clock: TestClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) await clock.advance(Math.min(step, ms - t));
}

describe('Beat', () => {
  it('dispatches through stem.enqueue with the entry options, beat headers and a per-tick task id', async () => {
    const w = world();
    const metrics: BeatMetric[] = [];
    await w.scheduler.add({
      id: 'reports.hourly',
      task: 'reports.build',
      args: { format: 'pdf' },
      options: { queue: 'reports', priority: 7, headers: { tenant: 't1' } },
      schedule: Schedules.every('1m', { startAt: T0 + MINUTE }),
    });
    const beat = w.beat({ metrics: (m) => metrics.push(m) });
    const dispatched: ScheduleDispatch[] = [];
    beat.events.on('schedule:dispatched', (d) => dispatched.push(d));
    await beat.start();
    await run(w.clock, MINUTE + SECOND);

    expect(w.calls).toHaveLength(1);
    const [call] = w.calls;
    expect(call).toMatchObject({
      name: 'reports.build',
      args: { format: 'pdf' },
      options: {
        queue: 'reports',
        priority: 7,
        headers: { tenant: 't1', 'scheduled-from': 'beat', 'schedule-id': 'reports.hourly' },
        taskId: scheduledTaskId('reports.hourly', T0 + MINUTE),
      },
    });
    expect(await w.broker.pendingCount('reports')).toBe(1);
    expect(dispatched[0]).toMatchObject({ scheduledFor: T0 + MINUTE, taskId: call!.options.taskId, catchUp: false, nextRunAt: T0 + 2 * MINUTE });
    expect(dispatched[0]!.drift).toBe(dispatched[0]!.executedAt - T0 - MINUTE);
    expect(dispatched[0]!.drift).toBeLessThanOrEqual(SECOND);
    expect(metrics.find((m) => m.name === 'stem.scheduler.drift')).toMatchObject({ value: dispatched[0]!.drift, unit: 'ms', attributes: { schedule: 'reports.hourly' } });
    expect(await w.store.get('reports.hourly')).toMatchObject({
      runCount: 1,
      lastScheduledFor: T0 + MINUTE,
      lastTaskId: call!.options.taskId,
      nextRunAt: T0 + 2 * MINUTE,
      drift: dispatched[0]!.drift,
    });
  });

  it('three replicas sharing a store and lock store dispatch every due tick exactly once over 60 ticks', async () => {
    const w = world();
    await w.scheduler.add({ id: 'every-5s', task: 't', schedule: Schedules.every('5s', { startAt: T0 }) });
    await w.scheduler.add({ id: 'every-second', task: 't', schedule: Schedules.every(SECOND, { startAt: T0 }), jitter: 800 });
    await w.scheduler.add({ id: 'cron-10s', task: 't', schedule: Schedules.cron('*/10 * * * * *') });
    await w.scheduler.add({ id: 'once', task: 't', schedule: Schedules.at(T0 + 30 * SECOND) });
    const replicas = [w.beat(), w.beat(), w.beat()];
    let contended = 0;
    const byReplica = new Map<string, number>();
    for (const r of replicas) {
      r.events.on('schedule:contended', () => contended++);
      r.events.on('schedule:dispatched', () => byReplica.set(r.id, (byReplica.get(r.id) ?? 0) + 1));
    }
    // Two replicas tick in step, the third out of phase.
    await replicas[0]!.start();
    await replicas[1]!.start();
    await w.clock.advance(330);
    await replicas[2]!.start();
    await run(w.clock, 60 * SECOND - 330, 100);
    const end = w.clock.now();
    for (const r of replicas) await r.stop();

    const expectGrid = (id: string, every: number, first: number) => {
      const got = w.ticks(id);
      expect(new Set(got).size, `${id} dispatched a tick twice`).toBe(got.length);
      const settled = [];
      for (let t = first; t <= end - 2 * SECOND; t += every) settled.push(t);
      expect(got.filter((t) => t <= end - 2 * SECOND).sort((a, b) => a - b)).toEqual(settled);
      expect(got.every((t) => t <= end)).toBe(true);
    };
    // Added at T0: the first run is the first grid point after it.
    expectGrid('every-5s', 5 * SECOND, T0 + 5 * SECOND);
    expectGrid('every-second', SECOND, T0 + SECOND);
    expectGrid('cron-10s', 10 * SECOND, T0 + 10 * SECOND);
    expect(w.ticks('once')).toEqual([T0 + 30 * SECOND]);
    expect(w.ticks('every-second').length).toBeGreaterThanOrEqual(58);
    // The replicas really raced for the same entries.
    expect(contended).toBeGreaterThan(0);
    expect([...byReplica.values()].reduce((a, b) => a + b, 0)).toBe(w.calls.length);
    const entries = await w.store.list();
    for (const id of ['every-5s', 'every-second', 'cron-10s']) expect(entries.find((e) => e.id === id)!.runCount).toBe(w.ticks(id).length);
  });

  it('hands an entry over within one lock TTL (plus a tick) when its lock holder dies mid-dispatch', async () => {
    const w = world();
    await w.scheduler.add({ id: 'nightly', task: 't', schedule: Schedules.at(T0 + 10 * SECOND), jitter: 4_000 });
    const holder = w.beat({ id: 'holder', random: () => 0.99 }); // waits 3.96 s of jitter holding the lock
    const standby = w.beat({ id: 'standby', random: () => 0 });
    const lockTtl = 5_000;
    const tickInterval = 1_000;
    await holder.start();
    await w.clock.advance(500);
    await standby.start();
    await run(w.clock, 10 * SECOND, 100);
    expect(await w.lockStore.ownerOf('stem:schedule:nightly')).toBe('holder');
    const diedAt = w.clock.now();
    await holder.stop({ releaseLocks: false });
    let handedOverAt: number | undefined;
    standby.events.on('schedule:dispatched', (d) => {
      handedOverAt ??= d.executedAt;
    });
    await run(w.clock, 10 * SECOND, 100);

    expect(w.ticks('nightly')).toEqual([T0 + 10 * SECOND]);
    expect(handedOverAt! - diedAt).toBeLessThanOrEqual(lockTtl + tickInterval);
    expect((await w.store.get('nightly'))!.enabled).toBe(false);
  });

  it('renews the lock while a long jitter runs, so another replica never takes the tick', async () => {
    const w = world();
    await w.scheduler.add({ id: 'slow', task: 't', schedule: Schedules.at(T0 + 2 * SECOND), jitter: 20_000 });
    const a = w.beat({ id: 'a', random: () => 0.6 }); // 12 s of jitter, over two lock TTLs
    const b = w.beat({ id: 'b', random: () => 0 });
    let lost = 0;
    a.events.on('schedule:lock-lost', () => lost++);
    await a.start();
    await w.clock.advance(500);
    await b.start();
    await run(w.clock, 20 * SECOND, 100);
    expect(w.ticks('slow')).toEqual([T0 + 2 * SECOND]);
    expect(w.calls[0]!.at).toBeGreaterThanOrEqual(T0 + 14 * SECOND);
    expect(lost).toBe(0);
  });

  it('a graceful stop releases held locks so another replica takes over at once', async () => {
    const w = world();
    await w.scheduler.add({ id: 'report', task: 't', schedule: Schedules.at(T0 + 2 * SECOND), jitter: 4_000 });
    const a = w.beat({ id: 'a', random: () => 0.99 });
    const b = w.beat({ id: 'b', random: () => 0 });
    await a.start();
    await w.clock.advance(500);
    await b.start();
    await run(w.clock, 2 * SECOND, 100);
    const stoppedAt = w.clock.now();
    await a.stop();
    await run(w.clock, 3 * SECOND, 100);
    expect(w.ticks('report')).toEqual([T0 + 2 * SECOND]);
    expect(w.calls[0]!.at - stoppedAt).toBeLessThanOrEqual(SECOND);
  });

  it('runs a clocked entry once, then disables it', async () => {
    const w = world();
    await w.scheduler.add({ id: 'launch', task: 'launch.rocket', schedule: Schedules.at(new Date(T0 + 30 * SECOND)) });
    const beat = w.beat();
    const disabled: string[] = [];
    beat.events.on('schedule:disabled', (e) => disabled.push(e.id));
    await beat.start();
    await run(w.clock, 2 * MINUTE, SECOND);
    expect(w.ticks('launch')).toEqual([T0 + 30 * SECOND]);
    expect(await w.store.get('launch')).toMatchObject({ enabled: false, nextRunAt: null, runCount: 1 });
    expect(disabled).toEqual(['launch']);
  });

  it('catch-up "once": after downtime, one run for all missed ticks, then back on schedule', async () => {
    const w = world();
    await w.scheduler.add({ id: 'minutely', task: 't', schedule: Schedules.every('1m') });
    await w.clock.advance(10.5 * MINUTE); // no Beat running: ten ticks missed
    const beat = w.beat({ catchUp: 'once' });
    const dispatched: ScheduleDispatch[] = [];
    beat.events.on('schedule:dispatched', (d) => dispatched.push(d));
    await beat.start();
    await run(w.clock, 2 * MINUTE, SECOND);
    expect(dispatched.map((d) => [d.scheduledFor - T0, d.catchUp])).toEqual([
      [MINUTE, true],
      [11 * MINUTE, false],
      [12 * MINUTE, false],
    ]);
  });

  it('catch-up "skip": after downtime, missed ticks are dropped and the schedule resumes', async () => {
    const w = world();
    await w.scheduler.add({ id: 'minutely', task: 't', schedule: Schedules.every('1m') });
    await w.scheduler.add({ id: 'missed-once', task: 't', schedule: Schedules.at(T0 + 2 * MINUTE) });
    await w.clock.advance(10.5 * MINUTE);
    const beat = w.beat({ catchUp: 'skip' });
    const skipped: [string, number, number | null][] = [];
    beat.events.on('schedule:skipped', (e, scheduledFor, next) => skipped.push([e.id, scheduledFor - T0, next === null ? null : next - T0]));
    await beat.start();
    await run(w.clock, 2 * MINUTE, SECOND);
    expect(skipped.sort()).toEqual([
      ['minutely', MINUTE, 11 * MINUTE],
      ['missed-once', 2 * MINUTE, null],
    ]);
    expect(w.ticks('minutely').map((t) => t - T0)).toEqual([11 * MINUTE, 12 * MINUTE]);
    expect(w.ticks('missed-once')).toEqual([]);
    expect(await w.store.get('missed-once')).toMatchObject({ enabled: false, runCount: 0 });
  });

  it('records a failed dispatch and moves on; a failed clocked run is retried on the next tick', async () => {
    const w = world();
    await w.scheduler.add({ id: 'ping', task: 't', schedule: Schedules.every('10s', { startAt: T0 + 10 * SECOND }) });
    await w.scheduler.add({ id: 'once', task: 't', schedule: Schedules.at(T0 + 20 * SECOND) });
    const beat = w.beat();
    const failures: string[] = [];
    beat.events.on('schedule:failed', (e, error) => failures.push(`${e.id}: ${error.message}`));
    await beat.start();
    await run(w.clock, 9 * SECOND, SECOND);
    w.failNextEnqueues(1);
    await run(w.clock, 2 * SECOND, SECOND);
    expect(failures).toEqual(['ping: broker unreachable']);
    expect(await w.store.get('ping')).toMatchObject({ runCount: 1, failureCount: 1, lastError: 'broker unreachable', nextRunAt: T0 + 20 * SECOND });
    await run(w.clock, 8 * SECOND, SECOND);
    w.failNextEnqueues(1);
    await run(w.clock, 5 * SECOND, SECOND);
    expect(w.ticks('ping').map((t) => t - T0)).toEqual([20 * SECOND]);
    expect(w.ticks('once')).toEqual([T0 + 20 * SECOND]);
    expect(await w.store.get('once')).toMatchObject({ enabled: false, runCount: 2, failureCount: 1 });
  });

  it('runOnce dispatches what is due and returns the entry ids', async () => {
    const w = world();
    await w.scheduler.add({ id: 'a', task: 't', schedule: Schedules.at(T0 + SECOND) });
    await w.scheduler.add({ id: 'b', task: 't', schedule: Schedules.at(T0 + 5 * SECOND) });
    const beat = w.beat();
    await w.clock.advance(2 * SECOND);
    expect(await beat.runOnce()).toEqual(['a']);
    expect(await beat.runOnce()).toEqual([]);
  });

  it('picks up entries added at run time without a restart', async () => {
    const w = world();
    const beat = w.beat();
    await beat.start();
    await run(w.clock, 5 * SECOND, SECOND);
    await w.scheduler.add({ id: 'late-addition', task: 't', schedule: Schedules.every('2s') });
    await run(w.clock, 5 * SECOND, SECOND);
    expect(w.ticks('late-addition').length).toBe(2);
    await w.scheduler.disable('late-addition');
    await run(w.clock, 5 * SECOND, SECOND);
    expect(w.ticks('late-addition').length).toBe(2);
  });
});
