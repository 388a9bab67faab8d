import 'reflect-metadata';
import { Injectable, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, InMemoryBroker, StemClient, StemModule, type StemModuleOptions, Task } from '../lib/index.js';
import { describeStores } from '../lib/nest/stem-adapters.provider.js';

@Injectable()
class Tasks {
  @Task({ name: 'noop', queue: 'cfg' })
  async noop(): Promise<string> {
    return 'ok';
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) await close();
});

async function boot(module: ReturnType<typeof StemModule.forRoot>) {
  @Module({ imports: [module], providers: [Tasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  closers.push(() => moduleRef.close());
  await moduleRef.init();
  return { moduleRef };
}

/** What the `Stem` logger printed while `run` ran. */
async function stemLogs(run: () => Promise<unknown>): Promise<{ log: string[]; warn: string[] }> {
  const log: string[] = [];
  const warn: string[] = [];
  vi.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, message: unknown) {
    if ((this as unknown as { context?: string }).context === 'Stem') log.push(String(message));
  });
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
    if ((this as unknown as { context?: string }).context === 'Stem') warn.push(String(message));
  });
  await run();
  return { log, warn };
}

describe('StemModule broker configuration', () => {
  const unset = process.env.STEM_TEST_SURELY_UNSET_BROKER_URL;

  it('an explicitly undefined broker in a producer-only app is a ConfigurationError naming the option', async () => {
    const error = await boot(StemModule.forRoot({ broker: unset, worker: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('broker');
    expect((error as Error).message).toMatch(/Invalid option "broker": is undefined in a producer-only app \(worker: false\)/);
    expect((error as Error).message).toMatch(/Set it to the URL your workers use/);
  });

  it('the same mistake through forRootAsync fails the same way', async () => {
    const error = await boot(StemModule.forRootAsync({ useFactory: (): StemModuleOptions => ({ broker: unset, worker: false }) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('broker');
  });

  it('leaving the key out, or an undefined broker with a worker in the process, still runs in memory', async () => {
    const logs = await stemLogs(async () => {
      const { moduleRef } = await boot(StemModule.forRoot({ broker: unset, worker: { queues: ['cfg'] } }));
      const stem = moduleRef.get(StemClient);
      expect((await stem.waitForTask(await stem.enqueue('noop'), { timeout: 5_000 })).value).toBe('ok');
    });
    expect(logs.log).toContain('Stores: broker memory:// (every store); worker in this process');
    await expect(boot(StemModule.forRoot({ worker: false }))).resolves.toBeDefined();
  });

  it('a producer-only app on memory:// warns that its tasks run nowhere', async () => {
    const logs = await stemLogs(() => boot(StemModule.forRoot({ broker: 'memory://', worker: false })));
    expect(logs.log).toContain('Stores: broker memory:// (every store); producer only (worker: false)');
    expect(logs.warn.join('\n')).toMatch(/this app runs no worker: tasks enqueued here run nowhere/);
  });

  it('names each store at boot, URLs without their password', () => {
    expect(describeStores({ broker: 'redis://default:hunter2@redis.internal:6380?prefix=app1', backend: 'postgres://app:s3cret@db/app', worker: { concurrency: 4 } })).toBe(
      'Stores: broker redis://default:***@redis.internal:6380?prefix=app1, backend postgres://app:***@db/app, revokeStore postgres://app:***@db/app; worker in this process',
    );
    expect(describeStores({ broker: new InMemoryBroker(), backend: false, worker: false })).toBe(
      'Stores: broker memory, backend off, lockStore memory://, rateLimiter memory://, scheduleStore memory://, groupStore memory://, revokeStore memory://; producer only (worker: false)',
    );
  });
});
