import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClock } from '../core/utils/clock.js';
import { DuplicateWorkflowRunError } from '../core/workflow/errors/duplicate-workflow-run.error.js';
import { WorkflowRunNotFoundError } from '../core/workflow/errors/workflow-run-not-found.error.js';
import { WorkflowStepNotFoundError } from '../core/workflow/errors/workflow-step-not-found.error.js';
import type { RunState } from '../core/workflow/run-state.js';
import { childSignalName } from '../core/workflow/workflow.constants.js';
import type { CreateWorkflowRun, WorkflowStore } from '../core/workflow/workflow-store.js';
import { uniqueName } from './contract-helpers.js';

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

    it('claimRun: one owner at a time; renew and release by the owner only; claimable after expiry', async () => {
      const run = await create();
      expect(await store.claimRun(run.id, 'owner-a', 1_000)).toBe(true);
      expect(await store.claimRun(run.id, 'owner-b', 1_000)).toBe(false);
      expect((await store.listRunnableRuns({ now: clock.now() })).map((r) => r.id)).not.toContain(run.id);
      expect(await store.renewRunLease(run.id, 'owner-a', 2_000)).toBe(true);
      expect(await store.renewRunLease(run.id, 'owner-b', 2_000)).toBe(false);
      expect(await must(run.id)).toMatchObject({ ownerId: 'owner-a', leaseExpiresAt: T0 + 2_000 });
      await clock.advance(2_001);
      expect(await store.renewRunLease(run.id, 'owner-a', 2_000)).toBe(false);
      expect(await store.claimRun(run.id, 'owner-b', 1_000)).toBe(true);
      expect(await store.releaseRun(run.id, 'owner-a')).toBe(false);
      expect(await store.releaseRun(run.id, 'owner-b')).toBe(true);
      expect((await store.listRunnableRuns({ now: clock.now() })).map((r) => r.id)).toContain(run.id);
    });

    it('gives a contended run lease to exactly one of many concurrent claimers', async () => {
      const run = await create();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claimRun(run.id, `owner-${i}`, 5_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('refuses writes of an owner that does not hold the lease', async () => {
      const run = await create();
      await store.claimRun(run.id, 'owner-a', 1_000);
      expect(await store.saveStep(run.id, 'a', 1, { ownerId: 'owner-b' })).toBe(false);
      expect(await store.suspendUntil(run.id, 'a', T0 + 10, { ownerId: 'owner-b' })).toBe(false);
      expect(await store.markCompleted(run.id, 'x', { ownerId: 'owner-b' })).toBeNull();
      expect(await store.saveStep(run.id, 'a', 1, { ownerId: 'owner-a' })).toBe(true);
      await clock.advance(1_001);
      expect(await store.saveStep(run.id, 'b', 2, { ownerId: 'owner-a' })).toBe(false);
      expect(await store.listSteps(run.id)).toHaveLength(1);
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
      expect((await must(run.id)).result).toEqual({ total: 42 });
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

    it('keeps signals sent before any wait, and hands them out in order, exactly once, as checkpoints', async () => {
      const run = await create();
      await store.sendSignal(run.id, 'approve', { by: 'ann' });
      await store.sendSignal(run.id, 'other', 1);
      await store.sendSignal(run.id, 'approve', { by: 'bob' });
      expect((await store.listSignals(run.id)).map((s) => [s.name, s.seq])).toEqual([
        ['approve', 1],
        ['other', 2],
        ['approve', 3],
      ]);
      const [a, b] = await Promise.all([store.takeSignal(run.id, 'approve', '$waitForSignal#0'), store.takeSignal(run.id, 'approve', '$waitForSignal#1')]);
      expect([a?.payload, b?.payload]).toEqual([{ by: 'ann' }, { by: 'bob' }]);
      expect(await store.takeSignal(run.id, 'approve', '$waitForSignal#2')).toBeNull();
      expect((await store.readStep(run.id, '$waitForSignal#0'))?.value).toEqual({ by: 'ann' });
      expect((await store.listSignals(run.id)).map((s) => s.name)).toEqual(['other']);
    });

    it('suspendOnSignal refuses while a matching signal waits; a later signal wakes the waiting run', async () => {
      const run = await create();
      await store.sendSignal(run.id, 'go', 1);
      expect(await store.suspendOnSignal(run.id, '$waitForSignal#0', 'go')).toBe(false);
      expect((await must(run.id)).status).toBe('running');
      await store.takeSignal(run.id, 'go', '$waitForSignal#0');
      expect(await store.suspendOnSignal(run.id, '$waitForSignal#1', 'go', { deadline: T0 + 60_000 })).toBe(true);
      expect(await store.sendSignal(run.id, 'unrelated', 0)).toEqual({ stored: true, woke: false });
      expect(await store.sendSignal(run.id, 'go', 2)).toEqual({ stored: true, woke: true });
      expect(await store.dueRuns(clock.now())).toEqual([run.id]);
      expect(await store.markResumed(run.id)).toMatchObject({ status: 'running' });
      expect(await store.takeSignal(run.id, 'go', '$waitForSignal#1')).toEqual({ payload: 2 });
    });

    it('a signal for an ended run is not stored; for an unknown run it throws', async () => {
      const run = await create();
      await store.markCompleted(run.id, null);
      expect(await store.sendSignal(run.id, 'go', 1)).toEqual({ stored: false, woke: false });
      await expect(store.sendSignal(uniqueName('missing'), 'go', 1)).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    });

    it("a child's end signals its parent with the outcome and wakes it when it waits", async () => {
      const parent = await create();
      const child = await create({ parentRunId: parent.id });
      const failing = await create({ parentRunId: parent.id });
      await store.suspendOnSignal(parent.id, '$waitForChild#0', childSignalName(child.id));
      await store.markCompleted(child.id, { shipped: true });
      expect(await must(parent.id)).toMatchObject({ status: 'suspended', resumeAt: clock.now() });
      await store.markResumed(parent.id);
      expect(await store.takeSignal(parent.id, childSignalName(child.id), '$waitForChild#0')).toEqual({
        payload: { runId: child.id, workflow: wf, status: 'completed', result: { shipped: true } },
      });
      await store.markFailed(failing.id, { type: 'Error', message: 'boom', at: T0 }, { terminal: true });
      const [signal] = await store.listSignals(parent.id);
      expect(signal).toMatchObject({ name: childSignalName(failing.id), payload: { status: 'failed', error: { message: 'boom' } } });
    });

    it('watch reports status changes until unsubscribed', async () => {
      const run = await create();
      const other = await create();
      const seen: string[] = [];
      const stop = store.watch(run.id, (state) => seen.push(`${state.id === run.id ? 'run' : 'other'}:${state.status}`));
      await store.suspendUntil(run.id, 'w', T0);
      await store.markResumed(run.id);
      await store.markCompleted(other.id, 1);
      await store.markCompleted(run.id, 1);
      expect(seen).toContain('run:completed');
      expect(seen.every((s) => s.startsWith('run:'))).toBe(true);
      stop();
      const count = seen.length;
      await store.rewindToStep(run.id, 'w').catch(() => undefined);
      await store.cancel(run.id, { reason: 'x' });
      expect(seen).toHaveLength(count);
    });

    it('keeps checkpoint meta beside the value', async () => {
      const run = await create();
      await store.saveStep(run.id, 'page#0', { rows: 10 }, { meta: { repeat: true } });
      await store.saveStep(run.id, 'page#1', { rows: 3 });
      const steps = await store.listSteps(run.id);
      expect(steps[0]).toMatchObject({ name: 'page#0', value: { rows: 10 }, meta: { repeat: true } });
      expect(steps[1]!.meta).toBeUndefined();
      expect(await store.readStep(run.id, 'page#0')).toMatchObject({ meta: { repeat: true } });
    });

    it('a retry suspension resumes without resume data and keeps the last error', async () => {
      const run = await create();
      await store.markFailed(run.id, { type: 'Error', message: 'flaky', step: 'charge#0', attempt: 0, at: T0 }, { terminal: false });
      await store.suspendUntil(run.id, 'charge#0', T0 + 1_000, { type: 'retry' });
      expect(await must(run.id)).toMatchObject({ status: 'suspended', suspension: { type: 'retry', step: 'charge#0' }, lastError: { attempt: 0 } });
      await clock.advance(1_000);
      expect(await store.markResumed(run.id)).toMatchObject({ status: 'running', resumeData: null, lastError: { step: 'charge#0' } });
      await store.saveStep(run.id, 'charge#0', 'ok');
      expect((await must(run.id)).lastError).toBeNull();
    });

    it('hands out copies: changing a returned value changes nothing stored', async () => {
      const run = await create();
      await store.saveStep(run.id, 'a', { list: [1] });
      const step = await store.readStep(run.id, 'a');
      (step!.value as { list: number[] }).list.push(2);
      (run.params as { orderId: string }).orderId = 'changed';
      expect((await store.readStep(run.id, 'a'))!.value).toEqual({ list: [1] });
      expect((await must(run.id)).params).toMatchObject({ orderId: '42' });
    });
  });
}
