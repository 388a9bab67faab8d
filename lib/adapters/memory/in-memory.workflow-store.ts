import { type Clock, systemClock } from '../../core/utils/clock.js';
import { uuidv7 } from '../../core/utils/uuid.js';
import { DuplicateWorkflowRunError } from '../../core/workflow/errors/duplicate-workflow-run.error.js';
import { WorkflowRunNotFoundError } from '../../core/workflow/errors/workflow-run-not-found.error.js';
import { WorkflowStepNotFoundError } from '../../core/workflow/errors/workflow-step-not-found.error.js';
import {
  isTerminalWorkflowStatus,
  type RunState,
  type StepCheckpoint,
  type WatcherResolution,
  type WorkflowCancellationData,
  type WorkflowRunError,
  type WorkflowSignal,
  type WorkflowWatcher,
} from '../../core/workflow/run-state.js';
import { childSignalName, parseCheckpointName } from '../../core/workflow/workflow.constants.js';
import { childRunOutcome, type CreateWorkflowRun, type ListWorkflowRunsQuery, type RunChangeListener, type WorkflowStore } from '../../core/workflow/workflow-store.js';
import { InMemoryWatcherIndex } from './in-memory.workflow-watchers.js';
import { addSignal, endRecord, suspendRecord, writeStepRecord } from './in-memory.workflow-transitions.js';
import { copyValue, newRunRecord, page, type RunRecord, stepPosition, suspensionExtras as extras, toRunState } from './in-memory.workflow-record.js';

const DEFAULT_BATCH = 256;
const DEFAULT_DUE_CLAIM_MS = 30_000;

type SuspendOptions = { readonly data?: unknown; readonly iteration?: number; readonly ownerId?: string };

/**
 * Workflow runs held in this process: the full {@link WorkflowStore} contract (checkpoints,
 * durable watchers, signals, leases), nothing survives a restart. Every read returns a copy.
 *
 * @example
 * const clock = new FakeWorkflowClock();
 * const store = new InMemoryWorkflowStore({ clock });
 */
export class InMemoryWorkflowStore implements WorkflowStore {
  private readonly runs = new Map<string, RunRecord>();
  private readonly watchers = new InMemoryWatcherIndex();
  private readonly listeners = new Map<string, Set<RunChangeListener>>();
  private readonly clock: Clock;
  private seq = 0;

  /** @param options.clock @default systemClock */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async createRun(input: CreateWorkflowRun): Promise<RunState> {
    const id = input.runId ?? uuidv7();
    const existing = this.runs.get(id);
    if (existing) throw new DuplicateWorkflowRunError(id, existing.workflow);
    const now = this.clock.now();
    const rec = newRunRecord(id, input, now, this.seq++);
    this.runs.set(id, rec);
    return toRunState(rec);
  }

  async get(runId: string): Promise<RunState | null> {
    const rec = this.runs.get(runId);
    return rec ? toRunState(rec) : null;
  }

  async listRuns(query: ListWorkflowRunsQuery = {}): Promise<RunState[]> {
    const out = [...this.runs.values()].filter(
      (r) => (!query.workflow || r.workflow === query.workflow) && (!query.status || r.status === query.status) && (!query.parentRunId || r.parentRunId === query.parentRunId),
    );
    out.sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
    return page(out, query.offset, query.limit).map(toRunState);
  }

  async listRunnableRuns(query: { now: number; limit?: number; offset?: number }): Promise<RunState[]> {
    const out = [...this.runs.values()].filter((r) => r.status === 'running' && (r.ownerId === null || (r.leaseExpiresAt ?? 0) <= query.now));
    out.sort((a, b) => a.updatedAt - b.updatedAt || a.seq - b.seq);
    return page(out, query.offset, query.limit).map(toRunState);
  }

  async readStep(runId: string, name: string): Promise<StepCheckpoint | null> {
    const rec = this.runs.get(runId);
    const position = rec ? stepPosition(rec, name) : undefined;
    if (!rec || position === undefined) return null;
    const step = rec.steps[position]!;
    return { name, value: copyValue(step.value), position, completedAt: step.completedAt, ...(step.meta ? { meta: copyValue(step.meta) } : {}) };
  }

  async saveStep(runId: string, name: string, value: unknown, options: { ownerId?: string; meta?: Readonly<Record<string, unknown>> } = {}): Promise<boolean> {
    const rec = this.runs.get(runId);
    if (!rec || rec.status !== 'running' || !this.owns(rec, options.ownerId)) return false;
    writeStepRecord(rec, name, value, options.meta, this.clock.now());
    this.changed(rec);
    return true;
  }

  async listSteps(runId: string): Promise<StepCheckpoint[]> {
    const rec = this.runs.get(runId);
    return rec
      ? rec.steps.map((s, position) => ({ name: s.name, value: copyValue(s.value), position, completedAt: s.completedAt, ...(s.meta ? { meta: copyValue(s.meta) } : {}) }))
      : [];
  }

  async rewindToStep(runId: string, step: string): Promise<RunState> {
    const rec = this.require(runId);
    const from = rec.steps.findIndex((s) => s.name === step || parseCheckpointName(s.name).step === step);
    if (from < 0)
      throw new WorkflowStepNotFoundError(
        runId,
        step,
        rec.steps.map((s) => s.name),
      );
    const first = rec.steps[from]!.name;
    for (const removed of rec.steps.splice(from)) rec.stepIndex?.delete(removed.name);
    const now = this.clock.now();
    this.dropWatcher(rec);
    Object.assign(rec, {
      status: 'suspended',
      result: undefined,
      lastError: null,
      resumeData: null,
      cancellationData: null,
      ownerId: null,
      leaseExpiresAt: null,
      waitTopic: null,
      resumeAt: now,
      dueClaimUntil: 0,
      updatedAt: now,
      suspension: { type: 'rewind', step, iteration: 0, iterationStep: first, suspendedAt: now, resumeAt: now, requestedResumeAt: null },
    } satisfies Partial<RunRecord>);
    this.changed(rec);
    return toRunState(rec);
  }

  async suspendUntil(
    runId: string,
    step: string,
    resumeAt: number,
    options: SuspendOptions & { type?: 'sleep' | 'retry'; requestedResumeAt?: number | null } = {},
  ): Promise<boolean> {
    const rec = this.suspendable(runId, options.ownerId);
    if (!rec) return false;
    this.suspend(rec, {
      type: options.type ?? 'sleep',
      step,
      resumeAt,
      requestedResumeAt: options.requestedResumeAt === undefined ? resumeAt : options.requestedResumeAt,
      ...extras(options),
    });
    return true;
  }

  async suspendOnTopic(
    runId: string,
    step: string,
    topic: string,
    options: SuspendOptions & { deadline?: number | null; requestedDeadline?: number | null } = {},
  ): Promise<boolean> {
    const rec = this.suspendable(runId, options.ownerId);
    if (!rec) return false;
    const deadline = options.deadline ?? null;
    this.watchers.add({
      runId: rec.id,
      workflow: rec.workflow,
      step,
      topic,
      deadline,
      ...(options.data !== undefined ? { data: copyValue(options.data) } : {}),
      createdAt: this.clock.now(),
    });
    this.suspend(
      rec,
      { type: 'event', step, topic, resumeAt: deadline, requestedResumeAt: options.requestedDeadline === undefined ? deadline : options.requestedDeadline, ...extras(options) },
      topic,
    );
    return true;
  }

  async suspendOnSignal(
    runId: string,
    step: string,
    name: string,
    options: SuspendOptions & { deadline?: number | null; requestedDeadline?: number | null } = {},
  ): Promise<boolean> {
    const rec = this.suspendable(runId, options.ownerId);
    if (!rec || rec.signals.some((s) => s.name === name)) return false;
    const deadline = options.deadline ?? null;
    this.suspend(rec, {
      type: 'signal',
      step,
      signal: name,
      resumeAt: deadline,
      requestedResumeAt: options.requestedDeadline === undefined ? deadline : options.requestedDeadline,
      ...extras(options),
    });
    return true;
  }

  async resolveWatchers(topic: string, payload: unknown, options: { limit?: number } = {}): Promise<WatcherResolution[]> {
    const out: WatcherResolution[] = [];
    for (const watcher of this.watchers.take(topic, options.limit ?? DEFAULT_BATCH)) {
      const rec = this.runs.get(watcher.runId);
      if (!rec || rec.status !== 'suspended' || rec.waitTopic !== topic || rec.suspension?.step !== watcher.step) continue;
      const resumeData = { step: watcher.step, type: 'event', topic, payload: copyValue(payload) } as const;
      rec.resumeData = resumeData;
      rec.waitTopic = null;
      rec.resumeAt = this.clock.now();
      rec.dueClaimUntil = 0;
      rec.updatedAt = rec.resumeAt;
      this.changed(rec);
      out.push({ runId: rec.id, workflow: rec.workflow, step: watcher.step, topic, resumeData: copyValue(resumeData) });
    }
    return out;
  }

  async listWatchers(topic?: string, options: { limit?: number } = {}): Promise<WorkflowWatcher[]> {
    return this.watchers.list(topic, options.limit ?? DEFAULT_BATCH);
  }

  async runsWaitingOn(topic: string): Promise<string[]> {
    return [...this.runs.values()].filter((r) => r.status === 'suspended' && r.waitTopic === topic).map((r) => r.id);
  }

  async dueRuns(now: number, options: { limit?: number; claimFor?: number } = {}): Promise<string[]> {
    const due = [...this.runs.values()].filter((r) => r.status === 'suspended' && r.resumeAt !== null && r.resumeAt <= now && r.dueClaimUntil <= now);
    due.sort((a, b) => a.resumeAt! - b.resumeAt! || a.seq - b.seq);
    const picked = due.slice(0, options.limit ?? DEFAULT_BATCH);
    for (const rec of picked) rec.dueClaimUntil = now + (options.claimFor ?? DEFAULT_DUE_CLAIM_MS);
    return picked.map((r) => r.id);
  }

  async markResumed(runId: string, options: { now?: number; data?: unknown } = {}): Promise<RunState | null> {
    const rec = this.runs.get(runId);
    const now = options.now ?? this.clock.now();
    if (!rec || rec.status !== 'suspended' || rec.resumeAt === null || rec.resumeAt > now) return null;
    const suspension = rec.suspension;
    if (options.data !== undefined && suspension) rec.resumeData = { step: suspension.step, type: rec.resumeData?.type ?? 'event', payload: copyValue(options.data) };
    else if (!rec.resumeData && suspension && suspension.type !== 'rewind' && suspension.type !== 'retry') {
      rec.resumeData =
        suspension.type === 'sleep'
          ? { step: suspension.step, type: 'sleep', payload: copyValue(suspension.data ?? true) }
          : { step: suspension.step, type: 'timeout', payload: null };
    }
    this.dropWatcher(rec);
    Object.assign(rec, { status: 'running', suspension: null, waitTopic: null, resumeAt: null, dueClaimUntil: 0, updatedAt: this.clock.now() } satisfies Partial<RunRecord>);
    this.changed(rec);
    return toRunState(rec);
  }

  async sendSignal(runId: string, name: string, payload: unknown): Promise<{ stored: boolean; woke: boolean }> {
    const rec = this.require(runId);
    return this.deliverSignal(rec, name, payload);
  }

  async takeSignal(runId: string, name: string, step: string, options: { ownerId?: string } = {}): Promise<{ payload: unknown } | null> {
    const rec = this.runs.get(runId);
    if (!rec || rec.status !== 'running' || !this.owns(rec, options.ownerId)) return null;
    const index = rec.signals.findIndex((s) => s.name === name);
    if (index < 0) return null;
    const [signal] = rec.signals.splice(index, 1);
    writeStepRecord(rec, step, signal!.payload, undefined, this.clock.now());
    this.changed(rec);
    return { payload: copyValue(signal!.payload) };
  }

  async listSignals(runId: string): Promise<WorkflowSignal[]> {
    return (this.runs.get(runId)?.signals ?? []).map(copyValue);
  }

  async markCompleted(runId: string, result: unknown, options: { ownerId?: string } = {}): Promise<RunState | null> {
    const rec = this.endable(runId, options.ownerId);
    if (!rec) return null;
    rec.result = copyValue(result);
    return this.end(rec, 'completed');
  }

  async markFailed(runId: string, error: WorkflowRunError, options: { terminal: boolean; ownerId?: string }): Promise<RunState | null> {
    const rec = this.endable(runId, options.ownerId);
    if (!rec) return null;
    rec.lastError = copyValue(error);
    if (options.terminal) return this.end(rec, 'failed');
    rec.status = 'running';
    rec.updatedAt = this.clock.now();
    this.changed(rec);
    return toRunState(rec);
  }

  async cancel(runId: string, data: Omit<WorkflowCancellationData, 'cancelledAt'> & { cancelledAt?: number }): Promise<RunState | null> {
    const rec = this.runs.get(runId);
    if (!rec || isTerminalWorkflowStatus(rec.status)) return null;
    rec.cancellationData = { ...copyValue(data), cancelledAt: data.cancelledAt ?? this.clock.now() };
    return this.end(rec, 'cancelled');
  }

  async claimRun(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    const rec = this.runs.get(runId);
    if (!rec) return false;
    const now = this.clock.now();
    if (rec.ownerId !== null && rec.ownerId !== ownerId && (rec.leaseExpiresAt ?? 0) > now) return false;
    rec.ownerId = ownerId;
    rec.leaseExpiresAt = now + leaseDuration;
    return true;
  }

  async renewRunLease(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    const rec = this.runs.get(runId);
    if (!rec || !this.owns(rec, ownerId)) return false;
    rec.leaseExpiresAt = this.clock.now() + leaseDuration;
    return true;
  }

  async releaseRun(runId: string, ownerId: string): Promise<boolean> {
    const rec = this.runs.get(runId);
    if (!rec || rec.ownerId !== ownerId) return false;
    rec.ownerId = null;
    rec.leaseExpiresAt = null;
    return true;
  }

  watch(runId: string, listener: RunChangeListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(runId) === set) this.listeners.delete(runId);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private require(runId: string): RunRecord {
    const rec = this.runs.get(runId);
    if (!rec) throw new WorkflowRunNotFoundError(runId);
    return rec;
  }

  /** Whether `ownerId` (when given) holds a live lease of the run. */
  private owns(rec: RunRecord, ownerId: string | undefined): boolean {
    return ownerId === undefined || (rec.ownerId === ownerId && (rec.leaseExpiresAt ?? 0) > this.clock.now());
  }

  private suspendable(runId: string, ownerId: string | undefined): RunRecord | undefined {
    const rec = this.runs.get(runId);
    return rec && rec.status === 'running' && this.owns(rec, ownerId) ? rec : undefined;
  }

  private suspend(rec: RunRecord, suspension: Omit<NonNullable<RunRecord['suspension']>, 'suspendedAt'>, waitTopic: string | null = null): void {
    suspendRecord(rec, suspension, waitTopic, this.clock.now());
    this.changed(rec);
  }

  private endable(runId: string, ownerId: string | undefined): RunRecord | undefined {
    const rec = this.runs.get(runId);
    return rec && !isTerminalWorkflowStatus(rec.status) && this.owns(rec, ownerId) ? rec : undefined;
  }

  private end(rec: RunRecord, status: 'completed' | 'failed' | 'cancelled'): RunState {
    this.dropWatcher(rec);
    endRecord(rec, status, this.clock.now());
    this.changed(rec);
    const parent = rec.parentRunId ? this.runs.get(rec.parentRunId) : undefined;
    if (parent) this.deliverSignal(parent, childSignalName(rec.id), childRunOutcome(rec, status));
    return toRunState(rec);
  }

  private deliverSignal(rec: RunRecord, name: string, payload: unknown): { stored: boolean; woke: boolean } {
    if (isTerminalWorkflowStatus(rec.status)) return { stored: false, woke: false };
    const woke = addSignal(rec, name, payload, this.clock.now());
    this.changed(rec);
    return { stored: true, woke };
  }

  private dropWatcher(rec: RunRecord): void {
    if (rec.waitTopic !== null) this.watchers.remove(rec.waitTopic, rec.id);
  }

  private changed(rec: RunRecord): void {
    if (rec.status === rec.notifiedStatus) return;
    rec.notifiedStatus = rec.status;
    const set = this.listeners.get(rec.id);
    if (!set || set.size === 0) return;
    const state = toRunState(rec);
    for (const listener of [...set]) {
      try {
        listener(state);
      } catch {
        // NOTE: a listener's error belongs to the listener; the store's write already happened.
      }
    }
  }
}
