import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { defineTask, StemClient, StemModule, type StemModuleOptions, Task, UnknownTaskError } from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../test/support/services.js';

/** The task the worker app runs, as the API app declares it without importing its provider. */
const square = defineTask<{ n: number }, number>('math.square', { queue: 'math' });

@Injectable()
class MathTasks {
  @Task({ name: 'math.square', queue: 'math' })
  async square(args: { n: number }): Promise<number> {
    return args.n * args.n;
  }
}

@Injectable()
class AuditTasks {
  @Task({ name: 'audit.log', queue: 'audit' })
  async log(): Promise<void> {}
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions, providers: (new (...args: never[]) => unknown)[]): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const redis = await redisAvailable();

describe.runIf(redis)('StemModule: an API app (worker: false) and the task names it enqueues', () => {
  it('refuses a task it neither runs nor declares, naming the tasks it knows', async () => {
    const url = `${REDIS_URL}?prefix=${uniqueName('known-tasks')}`;
    const api = await boot({ broker: url, worker: false }, [AuditTasks]);
    const error = await api
      .get(StemClient)
      .enqueue('math.square', { n: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as Error).message).toMatch(/"math\.square".*known tasks: audit\.log.*remoteTasks/s);
  });

  it('enqueues tasks declared in remoteTasks, which a worker app runs, and still refuses typos', async () => {
    const url = `${REDIS_URL}?prefix=${uniqueName('known-tasks')}`;
    await boot({ broker: url, worker: { queues: ['math'] } }, [MathTasks]);
    const api = await boot({ broker: url, worker: false, remoteTasks: [square] }, [AuditTasks]);
    const client = api.get(StemClient);
    // By name: the definition's queue applies, so the worker on `math` picks it up.
    const id = await client.enqueue('math.square', { n: 4 });
    expect((await client.waitForTask<number>(id, { timeout: 5_000 })).value).toBe(16);
    expect((await square.enqueueAndWait(client.core, { n: 5 }, {}, { timeout: 5_000 })).value).toBe(25);
    await expect(client.enqueue('math.sqare', { n: 1 })).rejects.toThrow(/"math\.sqare".*known tasks: audit\.log, math\.square/s);
  });

  it('accepts any name with allowUnknownTasks, and an app that knows no task accepts any name', async () => {
    const url = `${REDIS_URL}?prefix=${uniqueName('known-tasks')}`;
    await boot({ broker: url, worker: { queues: ['math'] } }, [MathTasks]);
    const open = await boot({ broker: url, worker: false, allowUnknownTasks: true }, [AuditTasks]);
    const id = await open.get(StemClient).enqueue('math.square', { n: 6 }, { queue: 'math' });
    expect((await open.get(StemClient).waitForTask<number>(id, { timeout: 5_000 })).value).toBe(36);
    const plain = await boot({ broker: url, worker: false }, []);
    const other = await plain.get(StemClient).enqueue('math.square', { n: 7 }, { queue: 'math' });
    expect((await plain.get(StemClient).waitForTask<number>(other, { timeout: 5_000 })).value).toBe(49);
  });
});
