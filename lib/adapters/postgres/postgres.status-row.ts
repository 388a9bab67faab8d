import type { TaskError, TaskProgress, TaskState, TaskStatus } from '../../core/envelope.js';

/** A status row as `get`, `listStatuses` and the NOTIFY payloads carry it (JSON as text). */
export interface StatusRow {
  id: string;
  state: TaskState;
  name: string | null;
  queue: string | null;
  attempt: number;
  payload: string | null;
  error: string | null;
  meta: Record<string, unknown> | null;
  progress: string | null;
  heartbeat_at: string | number | null;
  created_ms: number;
  updated_ms: number;
}

/** Maps a {@link StatusRow} to a {@link TaskStatus}, leaving absent fields out. */
export function statusFromRow(row: StatusRow): TaskStatus {
  return {
    id: row.id,
    state: row.state,
    attempt: row.attempt,
    meta: row.meta ?? {},
    createdAt: Math.round(row.created_ms),
    updatedAt: Math.round(row.updated_ms),
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.queue !== null ? { queue: row.queue } : {}),
    ...(row.payload !== null ? { payload: JSON.parse(row.payload) as unknown } : {}),
    ...(row.error !== null ? { error: JSON.parse(row.error) as TaskError } : {}),
    ...(row.progress !== null ? { progress: JSON.parse(row.progress) as TaskProgress } : {}),
    ...(row.heartbeat_at !== null ? { heartbeatAt: Number(row.heartbeat_at) } : {}),
  };
}
