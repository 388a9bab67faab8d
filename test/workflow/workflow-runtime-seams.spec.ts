import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore, type StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import {
  asWorkflowStep,
  ConcurrentWorkflowStepError,
  DuplicateWorkflowError,
  Flow,
  SimpleTaskRegistry,
  Stem,
  UnknownWorkflowError,
  WorkflowMeta,
  WorkflowRunEndedError,
  WorkflowRuntime,
  WorkflowScript,
  type TaskContext,
} from '../../lib/core/index.js';
import { FakeWorkflowClock } from '../../lib/testing/index.js';
import { fakeApp, T0, untilStatus } from './workflow-test-helpers.js';

describe('WorkflowRuntime: class steps, tasks, leases, sweeps, errors', () => {
  let app: StemWorkflowApp | undefined;
  let clock: FakeWorkflowClock;
  afterEach(async () => {
    await app?.shutdown();
    app = undefined;
  });

  it('asWorkflowStep turns methods into checkpointed steps numbered by call; calls inside a step run directly', async () => {
    const charged: string[] = [];
    class FulfilOrder {
      readonly charge = asWorkflowStep('charge', async (amount: number) => {
        charged.push(`${amount}:${this.currency()}`);
        return this.format(amount);
      });
      readonly format = asWorkflowStep('format', (amount: number) => `${amount} EUR`);
      currency() {
        return 'EUR';
      }
      async run(params: { amounts: number[] }, ctx: import('../../lib/core/index.js').WorkflowContext) {
        const out: string[] = [];
        for (const amount of params.amounts) out.push(await this.charge(amount));
        await ctx.sleep('1s');
        return out;
      }
    }
    const instance = new FulfilOrder();
    ({ app, clock } = await fakeApp({
      scripts: [new WorkflowScript<{ amounts: number[] }>({ name: 'fulfil', source: 'FulfilOrder', run: (ctx) => instance.run(ctx.params, ctx) })],
    }));
    const runId = await app.startWorkflow('fulfil', { amounts: [5, 7] });
    await untilStatus(app.store, runId, 'suspended');
    await clock.advance('1s');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toEqual(['5 EUR', '7 EUR']);
    expect(charged).toEqual(['5:EUR', '7:EUR']);
    expect((await app.steps(runId)).map((s) => s.name)).toEqual(['charge#0', 'charge#1', '$sleep#0']);
    expect(await instance.charge(1)).toBe('1 EUR');
  });

  it('ctx.enqueue adds stem.workflow.* meta and is not repeated on replay', async () => {
    const seen: TaskContext[] = [];
    ({ app, clock } = await fakeApp({
      tasks: [{ name: 'mail.send', options: { queue: 'mail' }, call: (ctx) => void seen.push(ctx) }],
      scripts: [
        new WorkflowScript({
          name: 'mailer',
          run: async (ctx) => {
            const id = await ctx.enqueue('mail.send', { to: 'a@b.c' });
            await ctx.sleep('1s');
            return id;
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('mailer');
    await untilStatus(app.store, runId, 'suspended');
    await clock.advance('1s');
    const { value } = await app.waitForCompletion<string>(runId, { timeout: '1m' });
    await app.stem.waitForTask(value!, { timeout: 5_000 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.meta).toMatchObject({ [WorkflowMeta.workflow]: 'mailer', [WorkflowMeta.runId]: runId, [WorkflowMeta.step]: '$enqueue#0' });
  });

  it('executeRun does not execute a run leased by another owner', async () => {
    ({ app, clock } = await fakeApp({ scripts: [new WorkflowScript({ name: 'leased', run: async (ctx) => ctx.step('only', () => 'ran') })], runLeaseDuration: '10s' }));
    await app.worker.close();
    const runId = await app.startWorkflow('leased');
    expect(await app.store.claimRun(runId, 'someone-else', 10_000)).toBe(true);
    expect(await app.runtime.executeRun(runId)).toMatchObject({ status: 'running', cursor: 0, ownerId: 'someone-else' });
    expect(await app.steps(runId)).toEqual([]);
  });

  it('the run task of a leased run is put back without using an attempt, and completes once the lease ends', async () => {
    const clockLocal = new FakeWorkflowClock(T0);
    const store = new InMemoryWorkflowStore({ clock: clockLocal });
    const broker = new InMemoryBroker({ clock: clockLocal });
    const { StemWorkflowApp } = await import('../../lib/adapters/memory/index.js');
    app = await StemWorkflowApp.create(
      { broker, backend: new InMemoryResultBackend({ clock: clockLocal }), store },
      { clock: clockLocal, sweepInterval: 0, scripts: [new WorkflowScript({ name: 'leased', run: async (ctx) => ctx.step('only', () => 'ran') })] },
    );
    const delays: number[] = [];
    app.worker.signals.on('task-delayed', ({ delayMs: delay }) => delays.push(delay));
    const run = await store.createRun({ workflow: 'leased', params: {} });
    await store.claimRun(run.id, 'crashed-worker', 30_000);
    const delayed = new Promise<void>((resolve) => app!.worker.signals.once('task-delayed', () => resolve()));
    await app.stem.enqueue('stem.workflow.run', { runId: run.id }, { queue: 'workflow' }, app.runtime.taskHandler.options);
    await delayed;
    expect(delays[0]).toBe(30_000);
    await clockLocal.advance('30s');
    expect((await app.waitForCompletion(run.id, { timeout: '1m' })).value).toBe('ran');
  });

  it('the due-run sweep resumes a run whose delayed run task went missing', async () => {
    ({ app, clock } = await fakeApp({ scripts: [new WorkflowScript({ name: 'lost', run: async (ctx) => ctx.awaitEvent('e', { timeout: '5s' }) })], sweepInterval: '1s' }));
    const firstTaskDone = new Promise<void>((resolve) => app!.worker.signals.once('task-succeeded', () => resolve()));
    const runId = await app.startWorkflow('lost');
    await firstTaskDone;
    expect(await app.broker.purge('workflow')).toBe(1);
    await clock.advance('5s');
    expect((await app.getRun(runId))!.status).toBe('suspended');
    await clock.advance('2s');
    const { state } = await app.waitForCompletion(runId, { timeout: '1m' });
    expect(state).toMatchObject({ status: 'completed' });
    expect((await app.steps(runId))[0]).toMatchObject({ name: '$awaitEvent#0', value: null });
  });

  it('cancel ends a waiting run with the reason; signalling it afterwards is refused', async () => {
    ({ app, clock } = await fakeApp({ scripts: [new WorkflowScript({ name: 'waits', run: async (ctx) => ctx.waitForSignal('go') })] }));
    const runId = await app.startWorkflow('waits');
    await untilStatus(app.store, runId, 'suspended');
    expect(await app.cancel(runId, 'customer asked')).toMatchObject({ status: 'cancelled', cancellationData: { reason: 'customer asked' } });
    expect(await app.cancel(runId, 'again')).toBeNull();
    await expect(app.signal(runId, 'go')).rejects.toBeInstanceOf(WorkflowRunEndedError);
  });

  it('steps of one run must be awaited one at a time', async () => {
    ({ app, clock } = await fakeApp({
      scripts: [new WorkflowScript({ name: 'parallel', run: async (ctx) => Promise.all([ctx.step('a', async () => 1), ctx.step('b', async () => 2)]) })],
    }));
    const { state } = await app.waitForCompletion(await app.startWorkflow('parallel'), { timeout: '1m' });
    expect(state).toMatchObject({ status: 'failed', lastError: { code: new ConcurrentWorkflowStepError('w', 'r', 'a', 'b').code } });
  });

  it('names duplicate and unknown workflows', async () => {
    const stem = new Stem({ broker: new InMemoryBroker(), registry: new SimpleTaskRegistry() });
    const runtime = new WorkflowRuntime({ store: new InMemoryWorkflowStore(), producer: stem });
    runtime.register(new Flow({ name: 'x', source: 'First', build: (f) => f.step('a', () => 1) }));
    expect(() => runtime.register(new WorkflowScript({ name: 'x', source: 'Second', run: () => 1 }))).toThrow(/"x" is defined twice \(First and Second\)/);
    expect(() => runtime.register(new WorkflowScript({ name: 'x', run: () => 1 }))).toThrow(DuplicateWorkflowError);
    await expect(runtime.start('nope')).rejects.toThrow(UnknownWorkflowError);
    await expect(runtime.start('nope')).rejects.toThrow(/known: "x"/);
  });
});

describe('WorkflowRuntime: shutdown between steps', () => {
  it('a soft shutdown stops a run between steps and requeues it; the next worker finishes it without re-running done steps', async () => {
    const { StemWorkflowApp } = await import('../../lib/adapters/memory/index.js');
    const broker = new InMemoryBroker();
    const store = new InMemoryWorkflowStore();
    const calls = { first: 0, second: 0 };
    let entered!: () => void;
    const inFirst = new Promise<void>((resolve) => (entered = resolve));
    const script = new WorkflowScript({
      name: 'drain',
      run: async (ctx) => {
        // NOTE: the step finishes when the soft shutdown aborts its signal (the worker aborts
        // after its own shutdown steps), so the run is always stopped before "second".
        await ctx.step('first', async (step) => {
          calls.first++;
          const aborted = new Promise<void>((resolve) => step.signal.addEventListener('abort', () => resolve(), { once: true }));
          entered();
          await aborted;
          return 1;
        });
        return ctx.step('second', () => ++calls.second);
      },
    });
    const first = await StemWorkflowApp.create({ broker, store }, { scripts: [script], sweepInterval: 0 });
    const runId = await first.startWorkflow('drain');
    await inFirst;
    await first.worker.close({ mode: 'soft', gracePeriod: 10_000 });
    expect(await store.get(runId)).toMatchObject({ status: 'running', cursor: 1, ownerId: null });
    const second = await StemWorkflowApp.create({ broker, store }, { scripts: [script], sweepInterval: 0 });
    expect((await second.waitForCompletion(runId, { timeout: 10_000 })).value).toBe(1);
    expect(calls).toEqual({ first: 1, second: 1 });
    await second.shutdown();
    await first.runtime.close();
  });
});
