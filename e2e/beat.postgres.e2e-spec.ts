import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Schedule, StemModule, type StemModuleOptions, StemScheduler, Task, type TaskContext } from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { isolatedPostgresUrl, postgresAvailable } from '../test/support/services.js';

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions, providers: unknown[]): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: providers as never[] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const hasPostgres = await postgresAvailable();

describe.skipIf(!hasPostgres)('Beat replicas on Postgres', () => {
  it('two Nest apps with scheduleStore and lockStore as postgres:// URLs dispatch each tick exactly once', async () => {
    const id = uniqueName('every-150ms');
    const seen: number[] = [];
    @Injectable()
    class Ticker {
      @Schedule({ id, every: 150 })
      @Task({ name: `${id}.task` })
      run(_args: unknown, ctx: TaskContext): void {
        seen.push(ctx.meta['stem.scheduledFor'] as number);
      }
    }
    const postgres = isolatedPostgresUrl('stem_beat_e2e');
    const options: StemModuleOptions = { broker: 'memory://', scheduleStore: postgres.url, lockStore: postgres.url, beat: { tickInterval: 20 } };
    const replicas = [await boot(options, [Ticker]), await boot(options, [Ticker])];
    await new Promise((r) => setTimeout(r, 1_500));
    const scheduler = replicas[0]!.get(StemScheduler);
    const stored = await scheduler.get(id);
    for (const app of replicas) {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    }
    await postgres.drop();
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(stored).toMatchObject({ id, source: 'code', enabled: true });
    expect(stored!.runCount).toBeGreaterThanOrEqual(5);
  });
});
