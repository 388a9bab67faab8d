import 'reflect-metadata';
import { Injectable, type INestApplication, Module, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsString, MinLength } from 'class-validator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InMemoryBroker,
  InMemoryResultBackend,
  InMemoryWorkflowStore,
  InvalidWorkflowParamsError,
  Step,
  StemClient,
  StemModule,
  type StemModuleOptions,
  StemWorkerHost,
  StemWorkflowHost,
  Task,
  Workflow,
  type WorkflowContext,
} from '../lib/index.js';

class GreetDto {
  @IsString()
  @MinLength(2)
  name!: string;
}

@Workflow({ name: 'greet', params: GreetDto })
@Injectable()
class Greet {
  async run(params: GreetDto, ctx: WorkflowContext) {
    const topic = await ctx.awaitEvent<string>(`greet.${params.name}`, { timeout: '30s' });
    return `${topic ?? 'hello'}, ${params.name}`;
  }
}

/** Lets a test hold a step open while the app shuts down. */
@Injectable()
class Gate {
  finished = false;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  private markStarted!: () => void;
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  async pass(): Promise<void> {
    this.markStarted();
    await this.opened;
    this.finished = true;
  }

  release(): void {
    this.open();
  }
}

@Workflow({ name: 'drain.me' })
@Injectable()
class SlowWorkflow {
  constructor(private readonly gate: Gate) {}

  async run() {
    return this.slow();
  }

  @Step() async slow() {
    await this.gate.pass();
    return 'finished';
  }
}

@Injectable()
class EmailTasks {
  @Task({ name: 'email.send', queue: 'emails' })
  send(): boolean {
    return true;
  }
}

const apps: INestApplication[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const close of closers.splice(0)) await close();
});

async function boot(options: StemModuleOptions, providers: Provider[]): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

describe('Durable workflows: lifecycle and configuration', () => {
  it('rejects invalid params at start, naming the workflow and each constraint, and stores nothing', async () => {
    const app = await boot({}, [Greet]);
    const stem = app.get(StemClient);
    const error = await stem.workflows.start(Greet, { name: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidWorkflowParamsError);
    expect(error).toMatchObject({ code: 'STEM_INVALID_WORKFLOW_PARAMS', workflow: 'greet', violations: [{ property: 'name' }] });
    expect((error as Error).message).toMatch(/Invalid params for workflow "greet": name: name must be longer than or equal to 2 characters/);
    await expect(stem.workflows.start('greet', { name: 42 })).rejects.toThrow(/workflow "greet": name: .*must be a string/);
    expect(await stem.workflows.list({ workflow: Greet })).toEqual([]);
  });

  it('a run whose stored params do not match the DTO (started without validation) fails naming the workflow, and the worker goes on', async () => {
    const app = await boot({}, [Greet]);
    const runtime = app.get(StemWorkflowHost).runtime!;
    const stem = app.get(StemClient);
    const bad = await runtime.start('greet', { name: 7 });
    const failed = await stem.workflows.waitForCompletion(bad, { timeout: 10_000 });
    expect(failed.state.status).toBe('failed');
    expect(failed.state.lastError).toMatchObject({ type: 'InvalidWorkflowParamsError', code: 'STEM_INVALID_WORKFLOW_PARAMS' });
    expect(failed.state.lastError?.message).toMatch(/workflow "greet": name: .*must be a string/);
    const good = await stem.workflows.start(Greet, { name: 'Cy' });
    const deadline = Date.now() + 10_000;
    while ((await stem.workflows.get(good))?.waitTopic !== 'greet.Cy' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(await stem.workflows.emit('greet.Cy', 'hey')).toBe(1);
    expect((await stem.workflows.waitForCompletion(good, { timeout: 10_000 })).value).toBe('hey, Cy');
  });

  it('app.close() drains a running workflow step: the step finishes and is checkpointed before close resolves', async () => {
    const store = new InMemoryWorkflowStore();
    closers.push(() => store.close());
    const app = await boot({ workflows: { store } }, [SlowWorkflow, Gate]);
    const stem = app.get(StemClient);
    const gate = app.get(Gate);
    const runId = await stem.workflows.start(SlowWorkflow);
    await gate.started;
    apps.splice(apps.indexOf(app), 1);
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    gate.release();
    await closing;
    expect(gate.finished).toBe(true);
    expect(await store.listSteps(runId)).toMatchObject([{ name: 'slow#0', value: 'finished' }]);
    expect(await store.get(runId)).toMatchObject({ status: 'completed', result: 'finished', ownerId: null });
  });

  it('fails at bootstrap when two classes declare the same workflow name, naming both', async () => {
    @Workflow({ name: 'greet' })
    @Injectable()
    class GreetAgain {
      async run() {
        return 'again';
      }
    }
    await expect(boot({}, [Greet, GreetAgain])).rejects.toThrow(/Workflow "greet" is defined twice \(Greet and GreetAgain\)/);
  });

  it('a producer-only app (worker: false) starts, emits and waits while a worker app on the same stores runs the workflow', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const store = new InMemoryWorkflowStore();
    closers.push(
      () => broker.close(),
      () => store.close(),
    );
    const api = await boot({ broker, backend, worker: false, workflows: { store } }, [Greet]);
    const worker = await boot({ broker, backend, workflows: { store } }, [Greet]);
    expect(api.get(StemWorkerHost).worker).toBeUndefined();
    expect(worker.get(StemWorkerHost).worker?.queues).toEqual(['workflow']);
    const stem = api.get(StemClient);
    const runId = await stem.workflows.start(Greet, { name: 'Ada' });
    const deadline = Date.now() + 10_000;
    while ((await stem.workflows.get(runId))?.waitTopic !== 'greet.Ada' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(await stem.workflows.emit('greet.Ada', 'hi')).toBe(1);
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done).toMatchObject({ value: 'hi, Ada', timedOut: false, state: { status: 'completed' } });
  });

  it('the worker consumes the workflow queue only in an app that defines workflows', async () => {
    const withWorkflows = await boot({ worker: { queues: ['emails'] }, workflows: { queue: 'flows' } }, [EmailTasks, Greet]);
    expect(withWorkflows.get(StemWorkerHost).worker?.queues).toEqual(['emails', 'flows']);
    expect(withWorkflows.get(StemWorkflowHost).runtime?.queue).toBe('flows');
    const tasksOnly = await boot({}, [EmailTasks]);
    expect(tasksOnly.get(StemWorkerHost).worker?.queues).toEqual(['emails']);
    // a producer that knows its tasks still refuses typos, and accepts workflow runs
    await expect(tasksOnly.get(StemClient).enqueue('email.sned')).rejects.toThrow(/email\.sned/);
  });

  it('a flow class without steps, or two steps with one name, fails at bootstrap saying what to fix', async () => {
    @Workflow({ name: 'empty' })
    @Injectable()
    class Empty {}
    await expect(boot({}, [Empty])).rejects.toThrow(/Empty has neither a run\(params, ctx\) method nor @Step\(\) methods/);
    @Workflow({ name: 'twice' })
    @Injectable()
    class Twice {
      @Step({ name: 'load' }) async a() {}
      @Step({ name: 'load' }) async b() {}
    }
    await expect(boot({}, [Twice])).rejects.toThrow(/Twice\.a and Twice\.b are both step "load"/);
  });

  it("worker.extensions plug into every delivery of the module's worker, next to the workflow runtime's", async () => {
    const seen: string[] = [];
    const app = await boot({ worker: { extensions: [{ name: 'audit', onSettled: (outcome) => void seen.push(`${outcome.envelope.name} ${outcome.state}`) }] } }, [
      EmailTasks,
      Greet,
    ]);
    const stem = app.get(StemClient);
    await stem.waitForTask(await stem.enqueue('email.send'), { timeout: 10_000 });
    const runId = await stem.workflows.start(Greet, { name: 'Bo' });
    const deadline = Date.now() + 10_000;
    while (!seen.includes('stem.workflow.run succeeded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['email.send succeeded', 'stem.workflow.run succeeded']);
    expect((await stem.workflows.get(runId))?.waitTopic).toBe('greet.Bo');
  });

  it('workflows: false turns the runtime off: StemClient.workflows says how to turn it on', async () => {
    const app = await boot({ workflows: false }, [EmailTasks, Greet]);
    expect(app.get(StemWorkflowHost).runtime).toBeNull();
    expect(app.get(StemWorkerHost).worker?.queues).toEqual(['emails']);
    await expect(app.get(StemClient).workflows.start(Greet, { name: 'Ada' })).rejects.toThrow(/"workflows".*remove workflows: false/);
  });
});
