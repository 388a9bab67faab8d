import type { TaskStatusUpdate } from '../../core/contracts/result-backend.js';
import type { TaskError, TaskProgress, TaskState, TaskStatus } from '../../core/envelope.js';

/** Hash field prefix of meta keys. */
const META = 'm:';

/** The task states, in the order of the state indexes passed to the status-index script. */
export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'succeeded', 'failed', 'retried', 'cancelled'];

function parse<T>(text: string | undefined): T | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** ARGV tail of the status-set script: meta as `m:<key>`/json pairs. */
export function metaPairs(meta: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(meta ?? {})) {
    const json = JSON.stringify(value);
    if (json !== undefined) out.push(META + key, json);
  }
  return out;
}

/** JSON of a payload, or '' when there is none. */
export function payloadField(update: TaskStatusUpdate): string {
  return update.payload === undefined ? '' : (JSON.stringify(update.payload) ?? '');
}

/** JSON of an error, or '' when there is none. */
export function errorField(error: TaskError | undefined): string {
  return error === undefined ? '' : JSON.stringify(error);
}

/** Rebuilds a status from its hash (as an object or a flat field/value list); `null` when empty. */
export function decodeStatus(id: string, hash: Record<string, string> | readonly string[]): TaskStatus | null {
  const fields: Record<string, string> = Array.isArray(hash) ? {} : (hash as Record<string, string>);
  if (Array.isArray(hash)) for (let i = 0; i + 1 < hash.length; i += 2) fields[hash[i]!] = hash[i + 1]!;
  if (fields.state === undefined) return null;
  const meta: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (field.startsWith(META)) meta[field.slice(META.length)] = parse(value);
  }
  const payload = parse<unknown>(fields.payload);
  const error = parse<TaskError>(fields.error);
  const progress = parse<TaskProgress>(fields.progress);
  return {
    id,
    state: fields.state as TaskState,
    attempt: Number(fields.attempt ?? 0),
    ...(fields.name ? { name: fields.name } : {}),
    ...(fields.queue ? { queue: fields.queue } : {}),
    ...(fields.payload ? { payload } : {}),
    ...(error ? { error } : {}),
    meta,
    ...(progress ? { progress } : {}),
    ...(fields.heartbeatAt ? { heartbeatAt: Number(fields.heartbeatAt) } : {}),
    createdAt: Number(fields.createdAt ?? 0),
    updatedAt: Number(fields.updatedAt ?? 0),
  };
}
