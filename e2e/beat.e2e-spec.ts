import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisScheduleStore } from '../lib/adapters/redis/redis.schedule-store.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../test/support/services.js';
import { Schedule, Schedules, StemBeatHost, StemClient, StemModule, type StemModuleOptions, StemScheduler, Task, type TaskContext } from '../lib/index.js';

@Injectable()
class Runs {
  readonly seen: { task: string; headers: Record<string, string>; args: unknown }[] = [];
}

@Injectable()
class ReportTasks {
  constructor(private readonly runs: Runs) {}

  @Schedule({ id: 'heartbeat.fast', every: 100, args: { source: 'beat' } })
  @Task({ name: 'report.tick' })
  tick(args: unknown, ctx: TaskContext): void {
    this.runs.seen.push({ task: 'report.tick', headers: { ...ctx.headers }, args });
  }

  @Task({ name: 'report.adhoc' })
  adhoc(args: unknown): void {
    this.runs.seen.push({ task: 'report.adhoc', headers: {}, args });
  }

  @Schedule({ id: 'nightly.cleanup', cron: '0 3 * * *', timezone: 'Europe/London', task: 'report.adhoc' })
  declaredOnly(): void {}
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions, providers: unknown[] = [ReportTasks, Runs]): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: providers as never[] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

describe('Beat in a Nest app', () => {
  it('upserts @Schedule entries at boot and dispatches them through the normal enqueue path', async () => {
    const app = await boot({ beat: { tickInterval: 20 } });
    const scheduler = app.get(StemScheduler);
    const entries = await scheduler.list();
    expect(entries.map((e) => [e.id, e.task, e.spec.kind, e.source])).toEqual([
      ['heartbeat.fast', 'report.tick', 'interval', 'code'],
      ['nightly.cleanup', 'report.adhoc', 'cron', 'code'],
    ]);
    const runs = app.get(Runs);
    const deadline = Date.now() + 3_000;
    while (runs.seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runs.seen.length).toBeGreaterThanOrEqual(3);
    expect(runs.seen[0]).toMatchObject({ task: 'report.tick', args: { source: 'beat' }, headers: { 'scheduled-from': 'beat', 'schedule-id': 'heartbeat.fast' } });
    const entry = await scheduler.get('heartbeat.fast');
    expect(entry!.runCount).toBeGreaterThanOrEqual(3);
    expect(entry!.lastTaskId).toBeDefined();
    expect((await app.get(StemClient).getTaskStatus(entry!.lastTaskId!))?.name).toBe('report.tick');
  });

  it('StemScheduler adds, disables and removes runtime entries', async () => {
    const app = await boot({ beat: { tickInterval: 20 } });
    const scheduler = app.get(StemScheduler);
    await scheduler.add({ id: 'adhoc.once', task: 'report.adhoc', args: { n: 1 }, schedule: Schedules.at(Date.now() + 50) });
    const runs = app.get(Runs);
    const deadline = Date.now() + 3_000;
    while (!runs.seen.some((r) => r.task === 'report.adhoc') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runs.seen.filter((r) => r.task === 'report.adhoc')).toEqual([{ task: 'report.adhoc', headers: {}, args: { n: 1 } }]);
    const done = await scheduler.get('adhoc.once');
    expect(done).toMatchObject({ enabled: false, runCount: 1, source: 'runtime' });
    await scheduler.disable('heartbeat.fast');
    expect((await scheduler.get('heartbeat.fast'))?.enabled).toBe(false);
    expect(await scheduler.remove('adhoc.once')).toBe(true);
  });

  it('does not run Beat unless asked, but still offers the scheduler', async () => {
    const app = await boot({});
    expect(app.get(StemBeatHost).beat).toBeUndefined();
    expect(await app.get(StemScheduler).list()).toEqual([]);
  });

  it('rejects a @Schedule without a task, and duplicate schedule ids naming both methods', async () => {
    @Injectable()
    class NoTask {
      @Schedule({ id: 'orphan', every: '1m' })
      orphan(): void {}
    }
    await expect(boot({ beat: true }, [NoTask])).rejects.toThrow(/@Schedule\(\{ id: 'orphan' \}\) on NoTask\.orphan has no task/);

    @Injectable()
    class Twice {
      @Schedule({ id: 'same', every: '1m', task: 'x' })
      a(): void {}
      @Schedule({ id: 'same', cron: '* * * * *', task: 'x' })
      b(): void {}
    }
    await expect(boot({ beat: true }, [Twice])).rejects.toThrow(/schedule id "same" is declared twice \(Twice\.a and Twice\.b\)/);
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('Beat replicas on Redis', () => {
  it('keeps entries added at run time across a restart, and runs them after it', async () => {
    const url = `${REDIS_URL}?prefix=${uniqueName('beat-restart')}`;
    const queue = uniqueName('beat-q');
    const seen: string[] = [];
    @Injectable()
    class Reports {
      @Schedule({ id: `${queue}.code`, cron: '0 3 * * *' })
      @Task({ name: `${queue}.nightly`, queue })
      nightly(): void {}

      @Task({ name: `${queue}.adhoc`, queue })
      adhoc(args: { n: number }): void {
        seen.push(`adhoc:${args.n}`);
      }
    }
    const first = await boot({ broker: url, beat: { tickInterval: 20 } }, [Reports]);
    await first.get(StemScheduler).add({ id: `${queue}.runtime`, task: `${queue}.adhoc`, args: { n: 7 }, schedule: Schedules.every('1h', { startAt: Date.now() + 1_500 }) });
    apps.splice(apps.indexOf(first), 1);
    await first.close();

    const second = await boot({ broker: url, beat: { tickInterval: 20 } }, [Reports]);
    const ids = (await second.get(StemScheduler).list()).map((e) => [e.id, e.source]);
    expect(ids).toEqual([
      [`${queue}.code`, 'code'],
      [`${queue}.runtime`, 'runtime'],
    ]);
    const deadline = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['adhoc:7']);
    await second.get(StemScheduler).remove(`${queue}.runtime`);
    await second.get(StemScheduler).remove(`${queue}.code`);
  });

  it('two Nest apps running Beat on one Redis dispatch each tick exactly once', async () => {
    const id = uniqueName('every-150ms');
    const queue = uniqueName('beat-q');
    const seen: number[] = [];
    @Injectable()
    class Ticker {
      @Schedule({ id, every: 150 })
      @Task({ name: `${id}.task`, queue })
      run(_args: unknown, ctx: TaskContext): void {
        seen.push(ctx.meta['stem.scheduledFor'] as number);
      }
    }
    const prefix = uniqueName('beat');
    const replicas = [];
    for (let i = 0; i < 2; i++) {
      const scheduleStore = await RedisScheduleStore.connect(REDIS_URL, { prefix });
      const app = await boot({ broker: REDIS_URL, scheduleStore, beat: { tickInterval: 20 } }, [Ticker]);
      replicas.push({ app, scheduleStore });
    }
    await new Promise((r) => setTimeout(r, 1_500));
    for (const { app, scheduleStore } of replicas.splice(0)) {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
      await scheduleStore.close();
    }
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
