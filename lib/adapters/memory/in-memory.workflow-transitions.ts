import type { ChildRunOutcome } from '../../core/workflow/workflow-store.js';
import { copyValue, type RunRecord } from './in-memory.workflow-record.js';

/** Ends a run record: status, and everything a live run has (suspension, watchers' topic, lease, pending signals) cleared. */
export function endRecord(rec: RunRecord, status: 'completed' | 'failed' | 'cancelled', now: number): void {
  Object.assign(rec, {
    status,
    suspension: null,
    resumeData: null,
    waitTopic: null,
    resumeAt: null,
    ownerId: null,
    leaseExpiresAt: null,
    signals: [],
    updatedAt: now,
  } satisfies Partial<RunRecord>);
}

/** The `$child:<id>` signal payload of a child that ended. */
export function childOutcome(rec: RunRecord, status: 'completed' | 'failed' | 'cancelled'): ChildRunOutcome {
  return {
    runId: rec.id,
    workflow: rec.workflow,
    status,
    ...(status === 'completed' ? { result: rec.result } : {}),
    ...(status === 'failed' ? { error: rec.lastError } : {}),
    ...(status === 'cancelled' ? { cancellationData: rec.cancellationData } : {}),
  };
}

/** Appends a signal to a live run; when the run waits for that signal it becomes due now. Returns whether it woke the run. */
export function addSignal(rec: RunRecord, name: string, payload: unknown, now: number): boolean {
  rec.signals.push({ runId: rec.id, name, payload: copyValue(payload), seq: ++rec.signalSeq, sentAt: now });
  const waiting = rec.status === 'suspended' && rec.suspension?.type === 'signal' && rec.suspension.signal === name && !rec.resumeData;
  if (waiting) {
    rec.resumeData = { step: rec.suspension!.step, type: 'signal', topic: name, payload: null };
    rec.resumeAt = now;
    rec.dueClaimUntil = 0;
  }
  rec.updatedAt = now;
  return waiting;
}
