import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClock } from '../core/utils/clock.js';
import { DuplicateWorkflowRunError } from '../core/workflow/errors/duplicate-workflow-run.error.js';
import { WorkflowRunNotFoundError } from '../core/workflow/errors/workflow-run-not-found.error.js';
import { WorkflowStepNotFoundError } from '../core/workflow/errors/workflow-step-not-found.error.js';
import type { RunState } from '../core/workflow/run-state.js';
import type { CreateWorkflowRun, WorkflowStore } from '../core/workflow/workflow-store.js';
import { uniqueName } from './contract-helpers.js';
import { defineLeaseSignalAndChildCases } from './workflow-store-leases-signals.contract.js';

/** How the workflow store suite gets fresh instances. The store must read time from `clock`. */
export interface WorkflowStoreContractFactory {
  create(clock: TestClock): Promise<WorkflowStore>;
  dispose?(store: WorkflowStore): Promise<void>;
}

/**
 * The behaviours every {@link WorkflowStore} must show. Run ids and workflow names are unique per
 * test, so a shared backing store (one Redis, one Postgres schema) may be reused across tests.
 */
export function runWorkflowStoreContractTests(adapter: string, factory: WorkflowStoreContractFactory): void {
  describe(`WorkflowStore contract: ${adapter}`, () => {
    const T0 = Date.UTC(2030, 0, 1);
    let clock: TestClock;
    let store: WorkflowStore;
    let wf: string;
    const create = (overrides: Partial<CreateWorkflowRun> = {}) => store.createRun({ workflow: wf, params: { orderId: '42', items: [1, 2] }, ...overrides });
    const must = async (runId: string): Promise<RunState> => {
      const state = await store.get(runId);
      expect(state).not.toBeNull();
      return state!;
    };

    beforeEach(async () => {
      clock = new TestClock(T0);
      store = await factory.create(clock);
      wf = uniqueName('wf');
    });
    afterEach(async () => {
      await (factory.dispose ? factory.dispose(store) : store.close());
    });

    defineLeaseSignalAndChildCases({ store: () => store, clock: () => clock, workflow: () => wf, create, must, T0 });

    it('createRun starts a run: running, cursor 0, params kept', async () => {
      const run = await create();
      expect(run).toMatchObject({
        workflow: wf,
        status: 'running',
        cursor: 0,
        params: { orderId: '42', items: [1, 2] },
        parentRunId: null,
        createdAt: T0,
        lastError: null,
        suspension: null,
      });
      expect(await store.get(run.id)).toMatchObject({ id: run.id, status: 'running', params: { orderId: '42', items: [1, 2] } });
    });

    it("honours the caller's runId", async () => {
      const runId = uniqueName('run');
      expect((await create({ runId })).id).toBe(runId);
      expect((await must(runId)).workflow).toBe(wf);
    });

    it('rejects a duplicate runId and keeps the original intact', async () => {
      const runId = uniqueName('run');
      await create({ runId, params: { v: 1 } });
      await store.saveStep(runId, 'a', 'A');
      await expect(create({ runId, params: { v: 2 } })).rejects.toBeInstanceOf(DuplicateWorkflowRunError);
      expect(await must(runId)).toMatchObject({ params: { v: 1 }, cursor: 1 });
    });

    it('persists runtime metadata apart from params', async () => {
      const run = await create({ metadata: { queue: 'wf-q', serialization: { format: 'json', version: '1' }, frame: 'stem-envelope' } });
      const state = await must(run.id);
      expect(state.metadata).toEqual({ queue: 'wf-q', serialization: { format: 'json', version: '1' }, frame: 'stem-envelope' });
      expect(state.params).toEqual({ orderId: '42', items: [1, 2] });
    });

    it('saves and reads steps; rewinding to b clears b and c, keeps a, cursor 1', async () => {
      const run = await create();
      for (const [name, value] of [
        ['a', 1],
        ['b', { x: 2 }],
        ['c', [3]],
      ] as const)
        expect(await store.saveStep(run.id, name, value)).toBe(true);
      expect(await store.readStep(run.id, 'b')).toMatchObject({ name: 'b', value: { x: 2 }, position: 1 });
      const rewound = await store.rewindToStep(run.id, 'b');
      expect(rewound.cursor).toBe(1);
      expect(await store.readStep(run.id, 'a')).toMatchObject({ value: 1 });
      expect(await store.readStep(run.id, 'b')).toBeNull();
      expect(await store.readStep(run.id, 'c')).toBeNull();
      expect(rewound).toMatchObject({ status: 'suspended', suspension: { type: 'rewind', step: 'b', iterationStep: 'b' } });
    });

    it('records a step that returned undefined as completed', async () => {
      const run = await create();
      await store.saveStep(run.id, 'nothing', undefined);
      const step = await store.readStep(run.id, 'nothing');
      expect(step).not.toBeNull();
      expect(step!.value).toBeUndefined();
      expect((await must(run.id)).cursor).toBe(1);
    });

    it('saveStep refreshes updatedAt', async () => {
      const run = await create();
      await clock.advance(5_000);
      await store.saveStep(run.id, 'a', 1);
      expect((await must(run.id)).updatedAt).toBe(T0 + 5_000);
    });

    it('versioned checkpoints: repeat#0, repeat#1, tail; rewinding to repeat clears them all', async () => {
      const run = await create();
      for (const name of ['repeat#0', 'repeat#1', 'tail']) await store.saveStep(run.id, name, name);
      expect((await must(run.id)).cursor).toBe(3);
      const rewound = await store.rewindToStep(run.id, 'repeat');
      expect(rewound).toMatchObject({ cursor: 0, status: 'suspended', suspension: { type: 'rewind', step: 'repeat', iteration: 0, iterationStep: 'repeat#0' } });
      expect(await store.listSteps(run.id)).toEqual([]);
    });

    it('rewinding to a step the run never recorded throws, naming the step', async () => {
      const run = await create();
      await store.saveStep(run.id, 'a', 1);
      await expect(store.rewindToStep(run.id, 'zzz')).rejects.toBeInstanceOf(WorkflowStepNotFoundError);
      await expect(store.rewindToStep(uniqueName('missing'), 'a')).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    });

    it('an ended run can be rewound and runs again', async () => {
      const run = await create();
      await store.saveStep(run.id, 'a', 1);
      await store.saveStep(run.id, 'b', 2);
      await store.markCompleted(run.id, 'done');
      const rewound = await store.rewindToStep(run.id, 'b');
      expect(rewound).toMatchObject({ status: 'suspended', cursor: 1 });
      expect(rewound.result).toBeUndefined();
      expect(await store.markResumed(run.id)).toMatchObject({ status: 'running' });
    });

    it('listRuns reports the cursor', async () => {
      const run = await create();
      await store.saveStep(run.id, 'a', 1);
      await store.saveStep(run.id, 'b', 2);
      const [listed] = await store.listRuns({ workflow: wf });
      expect(listed).toMatchObject({ id: run.id, cursor: 2 });
    });

    it('suspendUntil: dueRuns hands the run out once; markResumed makes it running again', async () => {
      const run = await create();
      expect(await store.suspendUntil(run.id, 'wait', T0 + 1_000, { data: { marker: 1 } })).toBe(true);
      expect(await must(run.id)).toMatchObject({ status: 'suspended', resumeAt: T0 + 1_000, suspension: { type: 'sleep', step: 'wait', data: { marker: 1 } } });
      expect(await store.dueRuns(T0 + 999)).toEqual([]);
      expect(await store.markResumed(run.id, { now: T0 + 999 })).toBeNull();
      await clock.advance(1_000);
      expect(await store.dueRuns(clock.now())).toEqual([run.id]);
      expect(await store.dueRuns(clock.now())).toEqual([]);
      const resumed = await store.markResumed(run.id);
      expect(resumed).toMatchObject({ status: 'running', waitTopic: null, resumeAt: null, suspension: null, resumeData: { step: 'wait', type: 'sleep', payload: { marker: 1 } } });
      expect(await store.markResumed(run.id)).toBeNull();
    });

    it('listRunnableRuns excludes suspended and ended runs', async () => {
      const running = await create();
      const suspended = await create();
      const done = await create();
      await store.suspendUntil(suspended.id, 'wait', T0 + 60_000);
      await store.markCompleted(done.id, 1);
      const ids = (await store.listRunnableRuns({ now: clock.now(), limit: 1_000 })).map((r) => r.id);
      expect(ids).toContain(running.id);
      expect(ids).not.toContain(suspended.id);
      expect(ids).not.toContain(done.id);
    });

    it('dueRuns pages by limit: 2, then 1', async () => {
      const runs = [await create(), await create(), await create()];
      for (const run of runs) await store.suspendUntil(run.id, 'wait', T0 + 10);
      await clock.advance(10);
      const first = await store.dueRuns(clock.now(), { limit: 2 });
      const second = await store.dueRuns(clock.now(), { limit: 2 });
      expect(first).toHaveLength(2);
      expect(second).toHaveLength(1);
      expect(new Set([...first, ...second])).toEqual(new Set(runs.map((r) => r.id)));
    });

    it('a due run handed to a sweeper that never resumed it comes back after claimFor', async () => {
      const run = await create();
      await store.suspendUntil(run.id, 'wait', T0);
      expect(await store.dueRuns(T0, { claimFor: 1_000 })).toEqual([run.id]);
      expect(await store.dueRuns(T0 + 999)).toEqual([]);
      expect(await store.dueRuns(T0 + 1_000)).toEqual([run.id]);
    });

    it('suspendOnTopic: runsWaitingOn lists it; cancel ends it and clears the wait', async () => {
      const topic = uniqueName('topic');
      const run = await create();
      await store.suspendOnTopic(run.id, 'ship', topic);
      expect(await must(run.id)).toMatchObject({ status: 'suspended', waitTopic: topic, suspension: { type: 'event', topic } });
      expect(await store.runsWaitingOn(topic)).toEqual([run.id]);
      const cancelled = await store.cancel(run.id, { reason: 'customer asked' });
      expect(cancelled).toMatchObject({ status: 'cancelled', waitTopic: null });
      expect(await store.runsWaitingOn(topic)).toEqual([]);
      expect(await store.listWatchers(topic)).toEqual([]);
    });

    it('runsWaitingOn returns every waiter; markResumed(data) exposes the payload', async () => {
      const topic = uniqueName('topic');
      const a = await create();
      const b = await create();
      await store.suspendOnTopic(a.id, 'wait', topic, { deadline: T0 });
      await store.suspendOnTopic(b.id, 'wait', topic);
      expect(new Set(await store.runsWaitingOn(topic))).toEqual(new Set([a.id, b.id]));
      const resumed = await store.markResumed(a.id, { data: { tracking: 'T1' } });
      expect(resumed?.resumeData).toMatchObject({ step: 'wait', payload: { tracking: 'T1' } });
    });

    it('a watcher resolves exactly once, persisting the payload, and leaves no watcher or waiter', async () => {
      const topic = uniqueName('topic');
      const run = await create();
      await store.suspendOnTopic(run.id, 'ship#0', topic, { data: { note: 'x' } });
      const [first, second] = await Promise.all([store.resolveWatchers(topic, { tracking: 'T1' }), store.resolveWatchers(topic, { tracking: 'T2' })]);
      const all = [...first!, ...second!];
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ runId: run.id, step: 'ship#0', topic, resumeData: { type: 'event', topic, payload: all[0]!.resumeData.payload } });
      const state = await must(run.id);
      expect(state.resumeData).toEqual(all[0]!.resumeData);
      expect(state.resumeAt).toBe(clock.now());
      expect(await store.listWatchers(topic)).toEqual([]);
      expect(await store.runsWaitingOn(topic)).toEqual([]);
      expect(await store.dueRuns(clock.now())).toEqual([run.id]);
      expect(await store.resolveWatchers(topic, 'late')).toEqual([]);
    });

    it('an event wait that timed out resumes with a timeout and ignores a later event', async () => {
      const topic = uniqueName('topic');
      const run = await create();
      await store.suspendOnTopic(run.id, 'ship#0', topic, { deadline: T0 + 100 });
      await clock.advance(100);
      expect(await store.markResumed(run.id)).toMatchObject({ status: 'running', resumeData: { step: 'ship#0', type: 'timeout', payload: null } });
      expect(await store.resolveWatchers(topic, 'late')).toEqual([]);
      expect((await must(run.id)).resumeData?.type).toBe('timeout');
    });

    it('listWatchers shows data and deadline', async () => {
      const topic = uniqueName('topic');
      const run = await create();
      await store.suspendOnTopic(run.id, 'wait', topic, { deadline: T0 + 5_000, data: { reason: 'shipment' } });
      expect(await store.listWatchers(topic)).toEqual([
        expect.objectContaining({ runId: run.id, workflow: wf, step: 'wait', topic, deadline: T0 + 5_000, data: { reason: 'shipment' } }),
      ]);
    });

    it('markCompleted stores the result and empties the suspension', async () => {
      const run = await create();
      await store.suspendUntil(run.id, 'wait', T0);
      await store.markResumed(run.id);
      const done = await store.markCompleted(run.id, { total: 42 });
      expect(done).toMatchObject({ status: 'completed', result: { total: 42 }, suspension: null, resumeData: null, ownerId: null });
      expect(await store.markCompleted(run.id, 'again')).toBeNull();
      expect(await must(run.id)).toMatchObject({ status: 'completed', result: { total: 42 }, suspension: null, resumeData: null, ownerId: null });
    });

    it('non-terminal markFailed keeps the run running with lastError; terminal fails it', async () => {
      const run = await create();
      const error = { type: 'Error', message: 'card declined', step: 'charge#0', attempt: 0, at: T0 };
      expect(await store.markFailed(run.id, error, { terminal: false })).toMatchObject({ status: 'running', lastError: { message: 'card declined', step: 'charge#0' } });
      expect(await store.markFailed(run.id, { ...error, attempt: 1 }, { terminal: true })).toMatchObject({ status: 'failed', lastError: { attempt: 1 } });
      expect(await store.saveStep(run.id, 'late', 1)).toBe(false);
    });

    it('listRuns filters by workflow, status and parent', async () => {
      const other = uniqueName('wf-other');
      const a = await create();
      const b = await create({ parentRunId: a.id });
      await store.createRun({ workflow: other, params: {} });
      await store.markCompleted(b.id, 1);
      expect((await store.listRuns({ workflow: wf })).map((r) => r.id)).toEqual([b.id, a.id]);
      expect((await store.listRuns({ workflow: wf, status: 'completed' })).map((r) => r.id)).toEqual([b.id]);
      expect((await store.listRuns({ parentRunId: a.id })).map((r) => r.id)).toEqual([b.id]);
      expect(await store.listRuns({ workflow: wf, limit: 1, offset: 1 })).toHaveLength(1);
    });

    it('listSteps returns checkpoints in order, versioned ones included', async () => {
      const run = await create();
      for (const name of ['collect', 'page#0', 'page#1', 'page#2', 'publish']) await store.saveStep(run.id, name, `${name}!`);
      const steps = await store.listSteps(run.id);
      expect(steps.map((s) => [s.name, s.value, s.position])).toEqual([
        ['collect', 'collect!', 0],
        ['page#0', 'page#0!', 1],
        ['page#1', 'page#1!', 2],
        ['page#2', 'page#2!', 3],
        ['publish', 'publish!', 4],
      ]);
    });

    it('persists the cancellation policy', async () => {
      const run = await create({ cancellationPolicy: { maxRunDuration: 86_400_000, maxSuspendDuration: 604_800_000 } });
      expect((await must(run.id)).cancellationPolicy).toEqual({ maxRunDuration: 86_400_000, maxSuspendDuration: 604_800_000 });
    });

    it('cancel persists cancellationData; a second cancel changes nothing', async () => {
      const run = await create();
      await clock.advance(10);
      const cancelled = await store.cancel(run.id, { reason: 'maxRunDuration: ran longer than 1d', policy: 'maxRunDuration' });
      expect(cancelled?.cancellationData).toEqual({ reason: 'maxRunDuration: ran longer than 1d', policy: 'maxRunDuration', cancelledAt: T0 + 10 });
      expect(await store.cancel(run.id, { reason: 'again' })).toBeNull();
      expect((await must(run.id)).cancellationData?.reason).toBe('maxRunDuration: ran longer than 1d');
    });
  });
}
