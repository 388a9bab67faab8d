import { describe, expect, it } from 'vitest';
import { InMemoryWorkflowStore } from '../../lib/adapters/memory/in-memory.workflow-store.js';
import { clampResumeAt, trippedPolicy } from '../../lib/core/workflow/cancellation-policy.js';
import type { RunState, WorkflowSuspension } from '../../lib/core/workflow/run-state.js';

function suspendedRun(suspension: WorkflowSuspension, policy: RunState['cancellationPolicy']): RunState {
  return {
    id: 'r1',
    workflow: 'w',
    status: 'suspended',
    cursor: 1,
    params: {},
    parentRunId: null,
    createdAt: 0,
    updatedAt: suspension.suspendedAt,
    waitTopic: 'topic',
    resumeAt: suspension.resumeAt,
    suspension,
    resumeData: null,
    lastError: null,
    ownerId: null,
    leaseExpiresAt: null,
    cancellationPolicy: policy,
    cancellationData: null,
    metadata: {},
  };
}

describe('cancellation policy: maxSuspendDuration', () => {
  it('trips when the run wakes at its clamped resumeAt, even when the store stamped the suspension a little later', () => {
    const policy = { maxSuspendDuration: 50 };
    const resumeAt = clampResumeAt(suspendedRun({ type: 'event', step: '$awaitEvent#0', suspendedAt: 1_000, resumeAt: null, requestedResumeAt: null }, policy), 1_000, null);
    expect(resumeAt).toBe(1_050);
    const run = suspendedRun({ type: 'event', step: '$awaitEvent#0', suspendedAt: 1_002, resumeAt, requestedResumeAt: null }, policy);
    expect(trippedPolicy(run, 1_049)).toBeUndefined();
    expect(trippedPolicy(run, 1_050)).toMatchObject({ policy: 'maxSuspendDuration', reason: expect.stringMatching(/^maxSuspendDuration: step "\$awaitEvent#0"/) });
  });

  it('does not trip for a wait whose own timeout came first', () => {
    const run = suspendedRun({ type: 'event', step: '$awaitEvent#0', suspendedAt: 1_000, resumeAt: 1_020, requestedResumeAt: 1_020 }, { maxSuspendDuration: 50 });
    expect(trippedPolicy(run, 1_020)).toBeUndefined();
    expect(trippedPolicy(run, 1_100)).toBeUndefined();
  });
});

describe('InMemoryWorkflowStore: a wait without its own timeout', () => {
  it('keeps requestedResumeAt null when only the policy set a deadline, so the wake-up trips the policy', async () => {
    const store = new InMemoryWorkflowStore();
    const run = await store.createRun({ workflow: 'w', params: {}, cancellationPolicy: { maxSuspendDuration: 50 } });
    const deadline = Date.now() + 50;
    expect(await store.suspendOnTopic(run.id, '$awaitEvent#0', 'never', { deadline, requestedDeadline: null })).toBe(true);
    const suspended = (await store.get(run.id))!;
    expect(suspended.suspension).toMatchObject({ resumeAt: deadline, requestedResumeAt: null });
    expect(trippedPolicy(suspended, deadline)).toMatchObject({ policy: 'maxSuspendDuration' });
    await store.close();
  });
});
