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
  readonly stepIndex: Map<string, number>;
  signals: WorkflowSignal[];
  signalSeq: number;
  /** A due-run sweeper holds it until then (see `dueRuns`). */
  dueClaimUntil: number;
  /** Status last reported to `watch` listeners. */
  notifiedStatus: WorkflowStatus;
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

/** The public view of a record: a copy. */
export function toRunState(rec: RunRecord): RunState {
  return {
    id: rec.id,
    workflow: rec.workflow,
    status: rec.status,
    cursor: rec.steps.length,
    params: copyValue(rec.params),
    parentRunId: rec.parentRunId,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    ...(rec.result !== undefined ? { result: copyValue(rec.result) } : {}),
    waitTopic: rec.waitTopic,
    resumeAt: rec.resumeAt,
    suspension: copyValue(rec.suspension),
    resumeData: copyValue(rec.resumeData),
    lastError: copyValue(rec.lastError),
    ownerId: rec.ownerId,
    leaseExpiresAt: rec.leaseExpiresAt,
    cancellationPolicy: copyValue(rec.cancellationPolicy),
    cancellationData: copyValue(rec.cancellationData),
    metadata: copyValue(rec.metadata),
  };
}

/** The optional suspension fields that were given. */
export function suspensionExtras(options: { readonly data?: unknown; readonly iteration?: number }): { iteration?: number; data?: unknown } {
  return { ...(options.iteration !== undefined ? { iteration: options.iteration } : {}), ...(options.data !== undefined ? { data: copyValue(options.data) } : {}) };
}

/** `items[offset, offset + limit)`. */
export function page<T>(items: T[], offset = 0, limit = 50): T[] {
  return items.slice(offset, offset + limit);
}
