import { appendStep, type CheckpointRecord, copyValue, NO_SIGNALS, type RunRecord, stepPosition } from './in-memory.workflow-record.js';

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
    signals: NO_SIGNALS,
    updatedAt: now,
  } satisfies Partial<RunRecord>);
}

/** Appends a signal to a live run; when the run waits for that signal it becomes due now. Returns whether it woke the run. */
export function addSignal(rec: RunRecord, name: string, payload: unknown, now: number): boolean {
  if (rec.signals === NO_SIGNALS) rec.signals = [];
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

/** Records checkpoint `name` (a new one at the end, or in place); clears resume data and the last error that belonged to it. */
export function writeStepRecord(rec: RunRecord, name: string, value: unknown, meta: Readonly<Record<string, unknown>> | undefined, now: number): void {
  const position = stepPosition(rec, name);
  const step: CheckpointRecord = meta ? { name, value: copyValue(value), completedAt: now, meta: copyValue(meta) } : { name, value: copyValue(value), completedAt: now };
  if (position === undefined) appendStep(rec, step);
  else rec.steps[position] = step;
  if (rec.resumeData?.step === name) rec.resumeData = null;
  if (rec.lastError?.step === name) rec.lastError = null;
  rec.updatedAt = now;
}

/** Suspends a run record: its suspension, when it resumes, the topic it waits on. */
export function suspendRecord(rec: RunRecord, suspension: Omit<NonNullable<RunRecord['suspension']>, 'suspendedAt'>, waitTopic: string | null, now: number): void {
  Object.assign(rec, {
    status: 'suspended',
    suspension: { ...suspension, suspendedAt: now },
    resumeAt: suspension.resumeAt,
    resumeData: null,
    waitTopic,
    dueClaimUntil: 0,
    updatedAt: now,
  } satisfies Partial<RunRecord>);
}
