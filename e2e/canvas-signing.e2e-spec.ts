import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Broker,
  type DeadLetterAdmin,
  Canvas,
  chordResults,
  parentResult,
  STEM_BROKER,
  StemClient,
  StemModule,
  type StemModuleOptions,
  Task,
  task,
  type TaskContext,
} from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../test/support/services.js';

@Injectable()
class MathTasks {
  calls = 0;

  @Task({ name: 'm.square' })
  square(args: { n: number }): number {
    return args.n * args.n;
  }

  @Task({ name: 'm.sum' })
  sum(_args: unknown, ctx: TaskContext): number {
    return chordResults<number>(ctx).reduce((a, b) => a + b, 0);
  }

  @Task({ name: 'm.double' })
  double(_args: unknown, ctx: TaskContext): number {
    return parentResult<number>(ctx)! * 2;
  }

  @Task({ name: 'm.sync', unique: true, uniqueFor: 10_000 })
  async sync(_args: { orderId: number }): Promise<string> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 50));
    return 'synced';
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: [MathTasks] })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const targets = [{ name: 'memory', options: {} as StemModuleOptions, available: true }];
if (await redisAvailable()) targets.push({ name: 'redis', options: { broker: REDIS_URL }, available: true });

for (const target of targets) {
  describe(`Canvas and unique tasks in a Nest app (${target.name})`, () => {
    it('runs a group, a chord and a chain with the injectable Canvas', async () => {
      const queue = uniqueName('canvas');
      const app = await boot({ ...target.options, defaults: { queue }, worker: { concurrency: 4 } });
      const canvas = app.get(Canvas);
      const group = await canvas.group([1, 2, 3, 4].map((n) => task<number>('m.square', { n })));
      expect((await group.wait({ timeout: 10_000 })).values).toEqual([1, 4, 9, 16]);
      const chord = await canvas.chord(
        [1, 2, 3].map((n) => task<number>('m.square', { n })),
        task<number>('m.sum', {}),
      );
      expect((await chord.wait({ timeout: 10_000 })).value).toBe(14);
      const chain = await canvas.chain([task<number>('m.square', { n: 3 }), task<number>('m.double', {})]);
      expect((await chain.wait({ timeout: 10_000 })).value).toBe(18);
    });

    it('deduplicates concurrent enqueues of a unique task', async () => {
      const queue = uniqueName('unique');
      const app = await boot({ ...target.options, defaults: { queue } });
      const stem = app.get(StemClient);
      const orderId = Date.now();
      const ids = await Promise.all(Array.from({ length: 10 }, () => stem.enqueue('m.sync', { orderId })));
      expect(new Set(ids).size).toBe(1);
      expect((await stem.waitForTask(ids[0]!, { timeout: 5_000 })).value).toBe('synced');
      expect(app.get(MathTasks).calls).toBe(1);
    });
  });
}

describe('Signing in a Nest app', () => {
  it('signs on enqueue, runs signed tasks, and dead-letters a tampered envelope without running it', async () => {
    const secret = Buffer.from('a-very-secret-key-of-32-bytes!!!').toString('base64');
    const app = await boot({ signing: { keys: { k1: secret }, activeKey: 'k1' } });
    const stem = app.get(StemClient);
    const broker = app.get<Broker & DeadLetterAdmin>(STEM_BROKER);
    const good = await stem.enqueue('m.square', { n: 5 });
    expect((await stem.waitForTask(good, { timeout: 5_000 })).value).toBe(25);

    const envelope = stem.core.signer!.sign(stem.core.buildEnvelope('m.square', { n: 6 }));
    await broker.publish({ ...envelope, args: { n: 7 } });
    const res = await stem.waitForTask(envelope.id, { timeout: 5_000 });
    expect(res.status?.state).toBe('failed');
    expect((await broker.getDeadLetter('default', envelope.id))?.reason).toBe('signature-invalid');
  });
});
