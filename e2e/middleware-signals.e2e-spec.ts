import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  type EnqueueDraft,
  STEM_RESULT_BACKEND,
  StemClient,
  StemMiddleware,
  StemModule,
  type StemModuleOptions,
  type ResultBackend,
  Task,
  type TaskContext,
  type TaskRun,
} from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';

/** An app service the middleware gets by injection: who is calling, and a clock. */
@Injectable()
class RequestContext {
  tenant = 'acme';
  readonly order: string[] = [];
  now(): number {
    return performance.now();
  }
}

@StemMiddleware()
@Injectable()
class TenantTiming implements StemMiddleware {
  constructor(private readonly context: RequestContext) {}

  async onEnqueue(draft: EnqueueDraft, next: () => Promise<string>): Promise<string> {
    this.context.order.push('TenantTiming.onEnqueue');
    draft.headers['x-tenant'] = this.context.tenant;
    return next();
  }

  async onExecute(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    this.context.order.push('TenantTiming.onExecute');
    const started = this.context.now();
    try {
      return await next();
    } finally {
      run.statusMeta['app.durationMs'] = this.context.now() - started;
    }
  }
}

/** Listed in the module option (and the app's providers), not decorated: it runs before every discovered middleware. */
@Injectable()
class Audit implements StemMiddleware {
  constructor(private readonly context: RequestContext) {}

  async onEnqueue(_draft: EnqueueDraft, next: () => Promise<string>): Promise<string> {
    this.context.order.push('Audit.onEnqueue');
    return next();
  }

  async onExecute(_run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    this.context.order.push('Audit.onExecute');
    return next();
  }
}

@Injectable()
class ReportTasks {
  @Task({ name: 'report.build' })
  async build(args: { ms: number }, ctx: TaskContext): Promise<{ tenant: string | undefined }> {
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    return { tenant: ctx.headers['x-tenant'] };
  }
}

const modules: TestingModule[] = [];
afterEach(async () => {
  for (const m of modules.splice(0)) await m.close();
});

async function boot(options: Partial<StemModuleOptions> = {}, providers: unknown[] = [TenantTiming, ReportTasks]): Promise<TestingModule> {
  @Module({ imports: [StemModule.forRoot({ broker: 'memory://', defaults: { queue: uniqueName('mw') }, ...options })], providers: [RequestContext, ...(providers as never[])] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .setLogger({ log() {}, warn() {}, error: console.error })
    .compile();
  modules.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

describe('Stem middleware and signals in a Nest app', () => {
  it('a @StemMiddleware() provider with an injected service adds a header on enqueue and times the execution into the status meta', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const backend = app.get<ResultBackend>(STEM_RESULT_BACKEND);
    const succeeded = stem.signals.next('task-succeeded', { task: 'report.build' });

    const id = await stem.enqueue('report.build', { ms: 30 });
    const result = await stem.waitForTask<{ tenant: string }>(id, { timeout: 5_000 });

    expect(result.value).toEqual({ tenant: 'acme' });
    const status = await backend.get(id);
    expect(status?.meta['app.durationMs']).toBeGreaterThanOrEqual(25);
    const signal = await succeeded;
    expect(signal.envelope.id).toBe(id);
    expect(signal.envelope.headers['x-tenant']).toBe('acme');
  });

  it('runs the module option middleware (the app provider, with its dependencies) before the discovered ones', async () => {
    const app = await boot({ middleware: [Audit] }, [TenantTiming, ReportTasks, Audit]);
    const stem = app.get(StemClient);
    const context = app.get(RequestContext);
    const id = await stem.enqueue('report.build', { ms: 1 });
    await stem.waitForTask(id, { timeout: 5_000 });
    expect(context.order).toEqual(['Audit.onEnqueue', 'TenantTiming.onEnqueue', 'Audit.onExecute', 'TenantTiming.onExecute']);
  });

  it('module signals setting turns signals off for the whole app', async () => {
    const app = await boot({ signals: { disabled: ['task-succeeded'] } });
    const stem = app.get(StemClient);
    const seen: string[] = [];
    stem.signals.on('task-succeeded', () => void seen.push('succeeded'));
    const postrun = stem.signals.next('task-postrun');
    const id = await stem.enqueue('report.build', { ms: 1 });
    expect((await postrun).state).toBe('succeeded');
    await stem.waitForTask(id, { timeout: 5_000 });
    expect(seen).toEqual([]);
  });

  it('says how to fix a listed class whose dependencies Stem cannot resolve', async () => {
    await expect(boot({ middleware: [Audit] })).rejects.toThrow(/add Audit to your module's providers/);
  });

  it('refuses a @StemMiddleware() class without any hook at bootstrap', async () => {
    @StemMiddleware()
    @Injectable()
    class Empty {}
    await expect(boot({}, [Empty, ReportTasks])).rejects.toThrow(ConfigurationError);
  });
});
