import type {
  RunState,
  StoredCancellationPolicy,
  WorkflowCancellationData,
  WorkflowResumeData,
  WorkflowRunError,
  WorkflowSignal,
  WorkflowStatus,
  WorkflowSuspension,
} from '../../core/workflow/run-state.js';
import type { CreateWorkflowRun } from '../../core/workflow/workflow-store.js';

/** A stored checkpoint of the in-memory workflow store. */
export interface CheckpointRecord {
  readonly name: string;
  readonly value: unknown;
  readonly completedAt: number;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A run as the in-memory workflow store keeps it (mutable; never handed out). */
export interface RunRecord {
  readonly id: string;
  readonly workflow: string;
  status: WorkflowStatus;
  readonly params: unknown;
  readonly parentRunId: string | null;
  readonly createdAt: number;
  readonly seq: number;
  updatedAt: number;
  result: unknown;
  waitTopic: string | null;
  resumeAt: number | null;
  suspension: WorkflowSuspension | null;
  resumeData: WorkflowResumeData | null;
  lastError: WorkflowRunError | null;
  ownerId: string | null;
  leaseExpiresAt: number | null;
  cancellationPolicy: StoredCancellationPolicy | null;
  cancellationData: WorkflowCancellationData | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly steps: CheckpointRecord[];
  /** Position by checkpoint name, built once the run has more than {@link STEP_INDEX_FROM} checkpoints (see {@link stepPosition}). */
  stepIndex: Map<string, number> | undefined;
  /** Pending signals; {@link NO_SIGNALS} (shared, never written) while there are none. */
  signals: WorkflowSignal[];
  signalSeq: number;
  /** A due-run sweeper holds it until then (see `dueRuns`). */
  dueClaimUntil: number;
  /** Status last reported to `watch` listeners. */
  notifiedStatus: WorkflowStatus;
}

/** Checkpoint count from which a run keeps a name index (below it, a scan is as fast and costs no memory per run). */
export const STEP_INDEX_FROM = 16;

/** The empty pending-signal list every record starts with: replaced, never pushed to. */
export const NO_SIGNALS: WorkflowSignal[] = Object.freeze([]) as unknown as WorkflowSignal[];

/** Position of checkpoint `name` in the record, if it has one. */
export function stepPosition(rec: RunRecord, name: string): number | undefined {
  if (rec.stepIndex) return rec.stepIndex.get(name);
  const steps = rec.steps;
  for (let i = 0; i < steps.length; i++) if (steps[i]!.name === name) return i;
  return undefined;
}

/** Appends checkpoint `step` to the record, indexing names once there are many. */
export function appendStep(rec: RunRecord, step: CheckpointRecord): void {
  rec.steps.push(step);
  if (rec.stepIndex) rec.stepIndex.set(step.name, rec.steps.length - 1);
  else if (rec.steps.length > STEP_INDEX_FROM) rec.stepIndex = new Map(rec.steps.map((s, i) => [s.name, i]));
}

/** A fresh `running` record for {@link CreateWorkflowRun} `input`. */
export function newRunRecord(id: string, input: CreateWorkflowRun, now: number, seq: number): RunRecord {
  return {
    id,
    workflow: input.workflow,
    status: 'running',
    params: copyValue(input.params),
    parentRunId: input.parentRunId ?? null,
    createdAt: now,
    seq,
    updatedAt: now,
    result: undefined,
    waitTopic: null,
    resumeAt: null,
    suspension: null,
    resumeData: null,
    lastError: null,
    ownerId: null,
    leaseExpiresAt: null,
    cancellationPolicy: copyValue(input.cancellationPolicy ?? null),
    cancellationData: null,
    metadata: copyValue(input.metadata ?? {}),
    steps: [],
    stepIndex: undefined,
    signals: NO_SIGNALS,
    signalSeq: 0,
    dueClaimUntil: 0,
    notifiedStatus: 'running',
  };
}

/** A copy of a JSON value (primitives as they are); plain arrays and objects are copied by hand, which is much faster than `structuredClone`. */
export function copyValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyValue) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyValue((value as Record<string, unknown>)[key]);
  return out as T;
}

/** The public view of a record: a copy (built without spreads: it is made several times per run). */
export function toRunState(rec: RunRecord): RunState {
  const state: { -readonly [K in keyof RunState]: RunState[K] } = {
    id: rec.id,
    workflow: rec.workflow,
    status: rec.status,
    cursor: rec.steps.length,
    params: copyValue(rec.params),
    parentRunId: rec.parentRunId,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    waitTopic: rec.waitTopic,
    resumeAt: rec.resumeAt,
    suspension: rec.suspension === null ? null : copyValue(rec.suspension),
    resumeData: rec.resumeData === null ? null : copyValue(rec.resumeData),
    lastError: rec.lastError === null ? null : copyValue(rec.lastError),
    ownerId: rec.ownerId,
    leaseExpiresAt: rec.leaseExpiresAt,
    cancellationPolicy: rec.cancellationPolicy === null ? null : copyValue(rec.cancellationPolicy),
    cancellationData: rec.cancellationData === null ? null : copyValue(rec.cancellationData),
    metadata: copyValue(rec.metadata),
  };
  if (rec.result !== undefined) state.result = copyValue(rec.result);
  return state;
}

/** The optional suspension fields that were given. */
export function suspensionExtras(options: { readonly data?: unknown; readonly iteration?: number }): { iteration?: number; data?: unknown } {
  return { ...(options.iteration !== undefined ? { iteration: options.iteration } : {}), ...(options.data !== undefined ? { data: copyValue(options.data) } : {}) };
}

/** `items[offset, offset + limit)`. */
export function page<T>(items: T[], offset = 0, limit = 50): T[] {
  return items.slice(offset, offset + limit);
}
