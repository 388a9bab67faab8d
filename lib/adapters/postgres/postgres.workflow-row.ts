import type { RunState, StepCheckpoint, WorkflowSignal, WorkflowStatus, WorkflowWatcher } from '../../core/workflow/run-state.js';

/** A `workflow_runs` row as the statements return it (see `RUN_COLUMNS`). */
export interface WorkflowRunRow {
  id: string;
  workflow: string;
  status: string;
  params: unknown;
  parent_run_id: string | null;
  created_at: string;
  updated_at: string;
  cursor: number;
  has_result: boolean;
  result: string | null;
  wait_topic: string | null;
  resume_at: string | null;
  suspension: RunState['suspension'];
  resume_data: RunState['resumeData'];
  last_error: RunState['lastError'];
  owner_id: string | null;
  lease_expires_at: string | null;
  cancellation_policy: RunState['cancellationPolicy'];
  cancellation_data: RunState['cancellationData'];
  metadata: RunState['metadata'];
  expires_at: string | null;
}

const num = (value: string | null): number | null => (value === null ? null : Number(value));

/** The public view of a run row. */
export function toRunState(row: WorkflowRunRow): RunState {
  return {
    id: row.id,
    workflow: row.workflow,
    status: row.status as WorkflowStatus,
    cursor: row.cursor,
    params: row.params,
    parentRunId: row.parent_run_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.has_result && row.result !== null ? { result: JSON.parse(row.result) } : {}),
    waitTopic: row.wait_topic,
    resumeAt: num(row.resume_at),
    suspension: row.suspension,
    resumeData: row.resume_data,
    lastError: row.last_error,
    ownerId: row.owner_id,
    leaseExpiresAt: num(row.lease_expires_at),
    cancellationPolicy: row.cancellation_policy,
    cancellationData: row.cancellation_data,
    metadata: row.metadata ?? {},
  };
}

/** A checkpoint row (value as text; NULL stands for undefined). */
export function toCheckpoint(row: CheckpointRow): StepCheckpoint {
  return {
    name: row.name,
    value: row.value === null ? undefined : JSON.parse(row.value),
    position: row.position,
    completedAt: Number(row.completed_at),
    ...(row.meta ? { meta: row.meta } : {}),
  };
}

/** A `workflow_steps` row as the statements return it (value as text). */
export interface CheckpointRow {
  name: string;
  value: string | null;
  meta: Record<string, unknown> | null;
  position: number;
  completed_at: string;
}

/** A watcher row. */
export function toWatcher(row: {
  run_id: string;
  workflow: string;
  step: string;
  topic: string;
  deadline: string | null;
  data: string | null;
  created_at: string;
}): WorkflowWatcher {
  return {
    runId: row.run_id,
    workflow: row.workflow,
    step: row.step,
    topic: row.topic,
    deadline: num(row.deadline),
    ...(row.data !== null ? { data: JSON.parse(row.data) } : {}),
    createdAt: Number(row.created_at),
  };
}

/** A signal row. */
export function toSignal(row: { run_id: string; name: string; payload: string; seq: number; sent_at: string }): WorkflowSignal {
  return { runId: row.run_id, name: row.name, payload: JSON.parse(row.payload), seq: row.seq, sentAt: Number(row.sent_at) };
}

/** JSON text of a value for a `json` parameter; `null` (SQL NULL) for undefined. */
export function jsonParam(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** JSON text of a payload that must be JSON (`undefined` becomes `null`). */
export function payloadParam(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}
