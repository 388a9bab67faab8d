import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, WORKFLOW_RUN_TASK, WorkflowRuntime, WorkflowScript, type WorkflowDefinition } from '../../lib/core/index.js';
import { FakeWorkflowClock } from '../../lib/testing/index.js';
import { T0 } from './workflow-test-helpers.js';

/** The script facade on a real runtime and store with a fake clock, driven by hand (no worker). */
describe('workflow script facade', () => {
  let clock: FakeWorkflowClock;
  let broker: InMemoryBroker;
  let store: InMemoryWorkflowStore;
  let runtime: WorkflowRuntime;
  const setup = (definitions: WorkflowDefinition[], queue?: string) => {
    const stem = new Stem({ broker, backend: new InMemoryResultBackend({ clock }), registry: new SimpleTaskRegistry(), clock, allowUnknownTasks: true });
    runtime = new WorkflowRuntime({ store, producer: stem, clock, definitions, ...(queue ? { queue } : {}) });
  };

  beforeEach(() => {
    clock = new FakeWorkflowClock(T0);
    broker = new InMemoryBroker({ clock });
    store = new InMemoryWorkflowStore({ clock });
  });
  afterEach(async () => {
    await runtime.close();
    await broker.close();
  });

  it('runs steps in order, each seeing the previous result, and returns the final value', async () => {
    const seen: unknown[] = [];
    setup([
      new WorkflowScript<{ n: number }>({
        name: 'seq',
        run: async (ctx) => {
          const a = await ctx.step('double', (s) => {
            seen.push(s.previousResult);
            return ctx.params.n * 2;
          });
          return ctx.step('add', (s) => {
            seen.push(s.previousResult);
            return a + 1;
          });
        },
      }),
    ]);
    const runId = await runtime.start('seq', { n: 20 });
    const state = await runtime.executeRun(runId);
    expect(state).toMatchObject({ status: 'completed', result: 41 });
    expect(seen).toEqual([undefined, 40]);
    expect((await runtime.steps(runId)).map((s) => s.name)).toEqual(['double#0', 'add#0']);
  });

  it('sleep suspends with resumeAt; once the clock passes it, dueRuns → markResumed → executeRun completes', async () => {
    setup([
      new WorkflowScript({
        name: 'nap',
        run: async (ctx) => {
          await ctx.step('before', () => 'b');
          await ctx.sleep('5s');
          return ctx.step('after', () => 'a');
        },
      }),
    ]);
    const runId = await runtime.start('nap');
    expect(await runtime.executeRun(runId)).toMatchObject({ status: 'suspended', resumeAt: T0 + 5_000, suspension: { type: 'sleep', step: '$sleep#0' } });
    expect(await store.dueRuns(clock.now())).toEqual([]);
    await clock.advance(5_000);
    expect(await store.dueRuns(clock.now())).toEqual([runId]);
    expect(await store.markResumed(runId)).toMatchObject({ status: 'running' });
    expect(await runtime.executeRun(runId)).toMatchObject({ status: 'completed', result: 'a' });
    expect((await runtime.steps(runId)).map((s) => s.name)).toEqual(['before#0', '$sleep#0', 'after#0']);
  });

  it('a step called in a loop is checkpointed repeat#0..2', async () => {
    setup([
      new WorkflowScript({
        name: 'loop',
        run: async (ctx) => {
          let total = 0;
          for (let i = 0; i < 3; i++) total += await ctx.step('repeat', (s) => s.iteration * 10, { autoVersion: true });
          return total;
        },
      }),
    ]);
    const runId = await runtime.start('loop');
    expect(await runtime.executeRun(runId)).toMatchObject({ status: 'completed', result: 30 });
    expect((await runtime.steps(runId)).map((s) => [s.name, s.value])).toEqual([
      ['repeat#0', 0],
      ['repeat#1', 10],
      ['repeat#2', 20],
    ]);
  });

  it('awaitEvent resumes with the emitted payload', async () => {
    setup([new WorkflowScript({ name: 'ship', run: async (ctx) => ({ got: await ctx.awaitEvent<{ trackingId: string }>('shipment.42') }) })]);
    const runId = await runtime.start('ship');
    expect(await runtime.executeRun(runId)).toMatchObject({ status: 'suspended', waitTopic: 'shipment.42' });
    expect(await runtime.emit('shipment.42', { trackingId: 'T1' })).toBe(1);
    expect(await runtime.executeRun(runId)).toMatchObject({ status: 'completed', result: { got: { trackingId: 'T1' } } });
  });

  it("an event resume enqueues the continuation onto the run's persisted queue", async () => {
    setup([new WorkflowScript({ name: 'ship', run: async (ctx) => ctx.awaitEvent('shipment.7') })], 'wf-orders');
    const runId = await runtime.start('ship');
    expect((await store.get(runId))!.metadata).toMatchObject({ queue: 'wf-orders' });
    const consumer = broker.consume({ queues: ['wf-orders'], consumerName: 'test' });
    const [start] = await consumer.fetch(1, AbortSignal.timeout(1_000));
    await broker.ack(start!);
    await runtime.executeRun(runId);
    await runtime.emit('shipment.7', 'here');
    const [continuation] = await consumer.fetch(1, AbortSignal.timeout(1_000));
    expect(continuation!.envelope).toMatchObject({
      name: WORKFLOW_RUN_TASK,
      queue: 'wf-orders',
      args: { runId },
      meta: { 'stem.workflow.reason': 'event', 'stem.workflow.runId': runId },
    });
    await consumer.close();
  });
});
