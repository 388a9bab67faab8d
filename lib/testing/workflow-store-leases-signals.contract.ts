import { expect, it } from 'vitest';
import type { TestClock } from '../core/utils/clock.js';
import { WorkflowRunNotFoundError } from '../core/workflow/errors/workflow-run-not-found.error.js';
import type { RunState } from '../core/workflow/run-state.js';
import { childSignalName } from '../core/workflow/workflow.constants.js';
import type { CreateWorkflowRun, WorkflowStore } from '../core/workflow/workflow-store.js';
import { uniqueName } from './contract-helpers.js';

/** What the lease, signal and child cases of the workflow store suite get from the suite. */
export interface WorkflowStoreCaseEnv {
  readonly store: () => WorkflowStore;
  readonly clock: () => TestClock;
  readonly workflow: () => string;
  readonly create: (overrides?: Partial<CreateWorkflowRun>) => Promise<RunState>;
  readonly must: (runId: string) => Promise<RunState>;
  readonly T0: number;
}

/** Run leases, run-addressed signals, child links, notifications and copies (part of `runWorkflowStoreContractTests`). */
export function defineLeaseSignalAndChildCases(env: WorkflowStoreCaseEnv): void {
  it('keeps signals sent before any wait, and hands them out in order, exactly once, as checkpoints', async () => {
    const run = await env.create();
    await env.store().sendSignal(run.id, 'approve', { by: 'ann' });
    await env.store().sendSignal(run.id, 'other', 1);
    await env.store().sendSignal(run.id, 'approve', { by: 'bob' });
    await env.store().sendSignal(run.id, 'approve', { by: 'cy' });
    expect((await env.store().listSignals(run.id)).map((s) => [s.name, s.seq])).toEqual([
      ['approve', 1],
      ['other', 2],
      ['approve', 3],
      ['approve', 4],
    ]);
    expect(await env.store().takeSignal(run.id, 'approve', '$waitForSignal#0')).toEqual({ payload: { by: 'ann' } });
    // NOTE: two takes at once: each gets one of the two left, neither gets both or none.
    const [b, c] = await Promise.all([env.store().takeSignal(run.id, 'approve', '$waitForSignal#1'), env.store().takeSignal(run.id, 'approve', '$waitForSignal#2')]);
    expect([b?.payload, c?.payload].map((p) => (p as { by: string }).by).sort()).toEqual(['bob', 'cy']);
    expect(await env.store().takeSignal(run.id, 'approve', '$waitForSignal#3')).toBeNull();
    expect((await env.store().readStep(run.id, '$waitForSignal#0'))?.value).toEqual({ by: 'ann' });
    expect((await env.store().readStep(run.id, '$waitForSignal#1'))?.value).toEqual(b?.payload);
    expect((await env.store().listSignals(run.id)).map((s) => s.name)).toEqual(['other']);
  });
  it('suspendOnSignal refuses while a matching signal waits; a later signal wakes the waiting run', async () => {
    const run = await env.create();
    await env.store().sendSignal(run.id, 'go', 1);
    expect(await env.store().suspendOnSignal(run.id, '$waitForSignal#0', 'go')).toBe(false);
    expect((await env.must(run.id)).status).toBe('running');
    await env.store().takeSignal(run.id, 'go', '$waitForSignal#0');
    expect(await env.store().suspendOnSignal(run.id, '$waitForSignal#1', 'go', { deadline: env.T0 + 60_000 })).toBe(true);
    expect(await env.store().sendSignal(run.id, 'unrelated', 0)).toEqual({ stored: true, woke: false });
    expect(await env.store().sendSignal(run.id, 'go', 2)).toEqual({ stored: true, woke: true });
    expect(await env.store().dueRuns(env.clock().now())).toEqual([run.id]);
    expect(await env.store().markResumed(run.id)).toMatchObject({ status: 'running' });
    expect(await env.store().takeSignal(run.id, 'go', '$waitForSignal#1')).toEqual({ payload: 2 });
  });
  it("a stale executor's refused wait on a topic does not hide the run its lease holder suspended on that topic", async () => {
    const run = await env.create();
    const topic = uniqueName('topic');
    expect(await env.store().claimRun(run.id, 'stale', 1_000)).toBe(true);
    await env.clock().advance(1_001);
    expect(await env.store().claimRun(run.id, 'holder', 30_000)).toBe(true);
    expect(await env.store().suspendOnTopic(run.id, '$awaitEvent#0', topic, { ownerId: 'holder' })).toBe(true);
    expect(await env.store().suspendOnTopic(run.id, '$awaitEvent#0', topic, { ownerId: 'stale' })).toBe(false);
    expect(await env.store().runsWaitingOn(topic)).toEqual([run.id]);
    expect((await env.store().resolveWatchers(topic, { n: 1 })).map((r) => r.runId)).toEqual([run.id]);
  });
  it('a signal for an ended run is not stored; for an unknown run it throws', async () => {
    const run = await env.create();
    await env.store().markCompleted(run.id, null);
    expect(await env.store().sendSignal(run.id, 'go', 1)).toEqual({ stored: false, woke: false });
    await expect(env.store().sendSignal(uniqueName('missing'), 'go', 1)).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
  });
  it("a child's end signals its parent with the outcome and wakes it when it waits", async () => {
    const parent = await env.create();
    const child = await env.create({ parentRunId: parent.id });
    const failing = await env.create({ parentRunId: parent.id });
    await env.store().suspendOnSignal(parent.id, '$waitForChild#0', childSignalName(child.id));
    await env.store().markCompleted(child.id, { shipped: true });
    expect(await env.must(parent.id)).toMatchObject({ status: 'suspended', resumeAt: env.clock().now() });
    await env.store().markResumed(parent.id);
    expect(await env.store().takeSignal(parent.id, childSignalName(child.id), '$waitForChild#0')).toEqual({
      payload: { runId: child.id, workflow: env.workflow(), status: 'completed', result: { shipped: true } },
    });
    await env.store().markFailed(failing.id, { type: 'Error', message: 'boom', at: env.T0 }, { terminal: true });
    const [signal] = await env.store().listSignals(parent.id);
    expect(signal).toMatchObject({ name: childSignalName(failing.id), payload: { status: 'failed', error: { message: 'boom' } } });
  });
  it('watch reports status changes until unsubscribed', async () => {
    const run = await env.create();
    const other = await env.create();
    const seen: string[] = [];
    const stop = env.store().watch(run.id, (state) => seen.push(`${state.id === run.id ? 'run' : 'other'}:${state.status}`));
    await env.store().suspendUntil(run.id, 'w', env.T0);
    await env.store().markResumed(run.id);
    await env.store().markCompleted(other.id, 1);
    await env.store().markCompleted(run.id, 1);
    expect(seen).toContain('run:completed');
    expect(seen.every((s) => s.startsWith('run:'))).toBe(true);
    stop();
    const count = seen.length;
    await env
      .store()
      .rewindToStep(run.id, 'w')
      .catch(() => undefined);
    await env.store().cancel(run.id, { reason: 'x' });
    expect(seen).toHaveLength(count);
  });
  it('keeps checkpoint meta beside the value', async () => {
    const run = await env.create();
    await env.store().saveStep(run.id, 'page#0', { rows: 10 }, { meta: { repeat: true } });
    await env.store().saveStep(run.id, 'page#1', { rows: 3 });
    const steps = await env.store().listSteps(run.id);
    expect(steps[0]).toMatchObject({ name: 'page#0', value: { rows: 10 }, meta: { repeat: true } });
    expect(steps[1]!.meta).toBeUndefined();
    expect(await env.store().readStep(run.id, 'page#0')).toMatchObject({ meta: { repeat: true } });
  });
  it('a retry suspension resumes without resume data and keeps the last error', async () => {
    const run = await env.create();
    await env.store().markFailed(run.id, { type: 'Error', message: 'flaky', step: 'charge#0', attempt: 0, at: env.T0 }, { terminal: false });
    await env.store().suspendUntil(run.id, 'charge#0', env.T0 + 1_000, { type: 'retry' });
    expect(await env.must(run.id)).toMatchObject({ status: 'suspended', suspension: { type: 'retry', step: 'charge#0' }, lastError: { attempt: 0 } });
    await env.clock().advance(1_000);
    expect(await env.store().markResumed(run.id)).toMatchObject({ status: 'running', resumeData: null, lastError: { step: 'charge#0' } });
    await env.store().saveStep(run.id, 'charge#0', 'ok');
    expect((await env.must(run.id)).lastError).toBeNull();
  });
  it('hands out copies: changing a returned value changes nothing stored', async () => {
    const run = await env.create();
    await env.store().saveStep(run.id, 'a', { list: [1] });
    const step = await env.store().readStep(run.id, 'a');
    (step!.value as { list: number[] }).list.push(2);
    (run.params as { orderId: string }).orderId = 'changed';
    expect((await env.store().readStep(run.id, 'a'))!.value).toEqual({ list: [1] });
    expect((await env.must(run.id)).params).toMatchObject({ orderId: '42' });
  });
  it('claimRun: one owner at a time; renew and release by the owner only; claimable after expiry', async () => {
    const run = await env.create();
    expect(await env.store().claimRun(run.id, 'owner-a', 1_000)).toBe(true);
    expect(await env.store().claimRun(run.id, 'owner-b', 1_000)).toBe(false);
    expect((await env.store().listRunnableRuns({ now: env.clock().now() })).map((r) => r.id)).not.toContain(run.id);
    expect(await env.store().renewRunLease(run.id, 'owner-a', 2_000)).toBe(true);
    expect(await env.store().renewRunLease(run.id, 'owner-b', 2_000)).toBe(false);
    expect(await env.must(run.id)).toMatchObject({ ownerId: 'owner-a', leaseExpiresAt: env.T0 + 2_000 });
    await env.clock().advance(2_001);
    expect(await env.store().renewRunLease(run.id, 'owner-a', 2_000)).toBe(false);
    expect(await env.store().claimRun(run.id, 'owner-b', 1_000)).toBe(true);
    expect(await env.store().releaseRun(run.id, 'owner-a')).toBe(false);
    expect(await env.store().releaseRun(run.id, 'owner-b')).toBe(true);
    expect((await env.store().listRunnableRuns({ now: env.clock().now() })).map((r) => r.id)).toContain(run.id);
  });
  it('gives a contended run lease to exactly one of many concurrent claimers', async () => {
    const run = await env.create();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => env.store().claimRun(run.id, `owner-${i}`, 5_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
  it('refuses writes of an owner that does not hold the lease', async () => {
    const run = await env.create();
    await env.store().claimRun(run.id, 'owner-a', 1_000);
    expect(await env.store().saveStep(run.id, 'a', 1, { ownerId: 'owner-b' })).toBe(false);
    expect(await env.store().suspendUntil(run.id, 'a', env.T0 + 10, { ownerId: 'owner-b' })).toBe(false);
    expect(await env.store().markCompleted(run.id, 'x', { ownerId: 'owner-b' })).toBeNull();
    expect(await env.store().saveStep(run.id, 'a', 1, { ownerId: 'owner-a' })).toBe(true);
    await env.clock().advance(1_001);
    expect(await env.store().saveStep(run.id, 'b', 2, { ownerId: 'owner-a' })).toBe(false);
    expect(await env.store().listSteps(run.id)).toHaveLength(1);
  });
}
