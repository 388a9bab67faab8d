import 'reflect-metadata';
import { Injectable, type INestApplication, type LoggerService, Module } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend } from '../lib/adapters/memory/index.js';
import { StemClient, StemControl, StemHealthIndicator, StemModule, type StemModuleOptions, StemWorkerHost, Task, type TaskContext } from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../test/support/services.js';

const queue = uniqueName('ops');

@Injectable()
class OpsTasks {
  @Task({ name: 'ops.wait', queue, maxRetries: 0 })
  async wait(_: unknown, ctx: TaskContext): Promise<string> {
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, 30_000);
      ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(ctx.signal.reason as Error)));
    });
    return 'done';
  }

  @Task({ name: 'ops.fail', queue })
  async fail(): Promise<never> {
    throw new Error('always fails');
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions, logger?: LoggerService): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options), TerminusModule], providers: [OpsTasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication(logger ? { logger } : { logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const until = async (check: () => Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

const prefix = uniqueName('e2e-ctl');
const targets: { name: string; available: boolean; stores: () => Pick<StemModuleOptions, 'broker' | 'backend' | 'revokeStore'> }[] = [
  {
    name: 'memory',
    available: true,
    stores: (() => {
      const shared = { broker: new InMemoryBroker(), backend: new InMemoryResultBackend(), revokeStore: new InMemoryControlStore() };
      return () => shared;
    })(),
  },
  { name: 'Redis', available: await redisAvailable(), stores: () => ({ broker: `${REDIS_URL}?prefix=${prefix}` }) },
];
afterAll(async () => {
  if (targets[1]!.available) await deleteKeys(REDIS_URL, prefix);
});

for (const target of targets) {
  describe.runIf(target.available)(`worker control in Nest on ${target.name}`, () => {
    it('StemControl in a producer-only app pings, inspects and terminates the worker app’s task', async () => {
      const worker = await boot({ ...target.stores(), worker: { id: uniqueName('nest-w'), closeAppOnShutdown: false, terminateGracePeriod: 500 } });
      const api = await boot({ ...target.stores(), worker: false });
      const control = api.get(StemControl);
      const workerId = worker.get(StemWorkerHost).worker!.id;
      expect((await control.ping({ workers: [workerId], timeout: 5_000 })).map((r) => r.workerId)).toEqual([workerId]);
      const id = await api.get(StemClient).enqueue('ops.wait', {});
      await until(async () => (await control.inspect({ workers: [workerId], timeout: 5_000 }))[0]?.payload?.active.some((t) => t.id === id) ?? false);
      const { replies } = await control.revoke([id], { terminate: true, reason: 'ops', workers: [workerId], timeout: 5_000 });
      expect(replies[0]?.payload?.terminated).toEqual([id]);
      await until(async () => (await api.get(StemClient).getTaskStatus(id))?.state === 'cancelled');
      expect((await control.listWorkers()).map((w) => w.workerId)).toContain(workerId);
    });

    it('the terminus indicator is up while a worker consumes the queue and down once it exits', async () => {
      const worker = await boot({ ...target.stores(), worker: { id: uniqueName('nest-h'), closeAppOnShutdown: false } });
      const api = await boot({ ...target.stores(), worker: false, remoteTasks: [{ name: 'ops.wait', options: { queue } }] });
      const health = api.get(HealthCheckService);
      const indicator = api.get(StemHealthIndicator);
      const up = await health.check([() => indicator.isHealthy('stem', { queues: [queue] })]);
      expect(up.status).toBe('ok');
      expect(up.info?.stem).toMatchObject({ status: 'up', broker: 'up', queues: { [queue]: { status: 'up', workers: 1 } } });
      await worker.close();
      apps.splice(apps.indexOf(worker), 1);
      const down = await health.check([() => indicator.isHealthy('stem', { queues: [queue] })]).catch((e: { response?: unknown }) => e.response);
      expect(down).toMatchObject({ status: 'error', error: { stem: { status: 'down', queues: { [queue]: { status: 'down', workers: 0 } } } } });
    });

    it('logs one line per failed or revoked task and for the drain, through the Nest logger', async () => {
      const lines: string[] = [];
      const logger: LoggerService = {
        log: (message: unknown) => void lines.push(`log ${String(message)}`),
        warn: (message: unknown) => void lines.push(`warn ${String(message)}`),
        error: (message: unknown) => void lines.push(`error ${String(message)}`),
      };
      const app = await boot({ ...target.stores(), worker: { id: uniqueName('nest-l'), closeAppOnShutdown: false } }, logger);
      const stem = app.get(StemClient);
      const failed = await stem.enqueue('ops.fail', {});
      await until(async () => (await stem.getTaskStatus(failed))?.state === 'failed');
      await until(async () => lines.some((l) => l.includes(`dead-lettered`) && l.includes(failed)));
      expect(lines.filter((l) => l.startsWith('error') && l.includes(failed) && l.includes('always fails'))).toHaveLength(1);
      const waiting = await stem.enqueue('ops.wait', {});
      await until(async () => (await stem.getTaskStatus(waiting))?.state === 'running');
      await app.get(StemControl).revoke([waiting], { terminate: true, reason: 'log check', timeout: 5_000, expect: 1 });
      await until(async () => lines.some((l) => l.startsWith('warn') && l.includes(waiting) && l.includes('cancelled') && l.includes('log check')));
      await app.close();
      apps.splice(apps.indexOf(app), 1);
      expect(lines.some((l) => /draining \(warm\)/.test(l))).toBe(true);
      expect(lines.some((l) => /drained and stopped/.test(l))).toBe(true);
    });
  });
}
