import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InMemoryBroker,
  InMemoryResultBackend,
  RoutingConfigError,
  StemClient,
  StemHealthIndicator,
  StemModule,
  type StemModuleOptions,
  StemWorkerHost,
  Task,
  type TaskContext,
} from '../lib/index.js';

const ran: { task: string; queue: string; priority: number; worker?: string }[] = [];

@Injectable()
class ReportTasks {
  @Task({ name: 'reports.daily', priority: 9 })
  daily(_args: unknown, ctx: TaskContext): string {
    ran.push({ task: ctx.name, queue: ctx.queue, priority: ctx.envelope.priority });
    return 'done';
  }

  @Task({ name: 'email.send', queue: 'emails' })
  send(_args: unknown, ctx: TaskContext): string {
    ran.push({ task: ctx.name, queue: ctx.queue, priority: ctx.envelope.priority });
    return 'sent';
  }

  @Task({ name: 'cache.flush' })
  flush(_args: unknown, ctx: TaskContext): string {
    ran.push({ task: ctx.name, queue: ctx.queue, priority: ctx.envelope.priority, worker: String(ctx.meta['stem.broadcast.id'] ? ctx.queue.split('@')[1] : '') });
    return 'flushed';
  }
}

const ROUTING_YAML = `
queues:
  reports:
    priority_range: [0, 4]
broadcasts: [cache]
routes:
  - match: { task: "reports.*" }
    target: reports
  - match: { task: cache.flush }
    target: { type: broadcast, name: cache }
`;

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  ran.length = 0;
  for (const close of closers.splice(0).reverse()) await close();
});

async function boot(options: StemModuleOptions) {
  @Module({ imports: [StemModule.forRoot(options)], providers: [ReportTasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .setLogger({ log() {}, warn() {}, error: console.error })
    .compile();
  closers.push(() => moduleRef.close());
  await moduleRef.init();
  return { stem: moduleRef.get(StemClient), host: moduleRef.get(StemWorkerHost), health: moduleRef.get(StemHealthIndicator) };
}

describe('StemModule routing', () => {
  it('the routing option sends reports.* to reports with the priority clamped; worker.queues picks what this worker consumes', async () => {
    const { stem, host, health } = await boot({ routing: ROUTING_YAML, worker: { queues: ['reports'] }, workflows: false });
    expect(host.worker!.queues).toEqual(['reports']);
    // The health check looks at the queues the tasks are routed to: reports (consumed) and emails (not).
    expect(Object.keys((await health.isHealthy()).stem.queues).sort()).toEqual(['emails', 'reports']);
    const report = await stem.enqueue('reports.daily');
    expect((await stem.waitForTask(report, { timeout: 5_000 })).value).toBe('done');
    expect(ran).toEqual([{ task: 'reports.daily', queue: 'reports', priority: 4 }]);
    // email.send keeps its @Task queue, which this worker does not consume.
    const email = await stem.enqueue('email.send');
    expect(await stem.getTaskStatus(email)).toMatchObject({ state: 'queued', queue: 'emails' });
  });

  it('STEM_WORKER_QUEUES and STEM_ROUTING_CONFIG configure the worker and the producer when the options are left out', async () => {
    vi.stubEnv('STEM_ROUTING_CONFIG', JSON.stringify({ defaultQueue: 'main', routes: [{ match: { task: 'reports.*' }, target: 'reports' }] }));
    vi.stubEnv('STEM_WORKER_QUEUES', 'reports, default');
    const { stem, host } = await boot({ workflows: false });
    expect(host.worker!.queues).toEqual(['reports', 'main']);
    const id = await stem.enqueue('reports.daily');
    expect((await stem.waitForTask(id, { timeout: 5_000 })).value).toBe('done');
    expect(ran).toEqual([{ task: 'reports.daily', queue: 'reports', priority: 9 }]);
  });

  it('a broken routing config fails the bootstrap naming the field', async () => {
    const error = await boot({ routing: { routes: [{ match: { task: 'x' }, target: { type: 'broadcast', name: 'nowhere' } }] }, worker: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingConfigError);
    expect((error as Error).message).toMatch(/routes\[0\]\.target\.name: broadcast channel "nowhere" is not declared/);
  });

  it('worker.broadcasts: two apps on one broker each run a broadcast task once', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    closers.push(() => broker.close());
    const apps = [];
    for (const id of ['node-a', 'node-b']) apps.push(await boot({ broker, backend, routing: ROUTING_YAML, worker: { id, broadcasts: ['cache'] }, workflows: false }));
    expect(apps[0]!.host.worker!.queues).toContain('cache@node-a');
    const done = Promise.all(
      apps.map(
        ({ host }) =>
          new Promise<void>((resolve) =>
            host.worker!.signals.on('task-succeeded', ({ envelope: e }) => e.name === 'cache.flush' && resolve(), { filter: { workerId: host.worker!.id } }),
          ),
      ),
    );
    const id = await apps[0]!.stem.enqueue('cache.flush');
    await done;
    expect(ran.map((r) => r.worker).sort()).toEqual(['node-a', 'node-b']);
    expect((await apps[1]!.stem.getTaskStatus(`${id}@node-b`))?.state).toBe('succeeded');
  });

  it('StemClient.withMeta adds meta to the enqueues inside', async () => {
    const { stem } = await boot({ worker: false, workflows: false });
    const id = await stem.withMeta({ requestId: 'req-7' }, () => stem.enqueue('email.send'));
    expect((await stem.getTaskStatus(id))?.meta).toMatchObject({ requestId: 'req-7' });
  });
});
