import { serializeRetryPolicy } from '../retry-policy.js';
import type { EnqueueOptions, TaskCallSpec } from '../task-options.js';

/** A task call as carried in envelope or group meta (JSON-safe). */
export interface SerializedTaskCall {
  readonly name: string;
  readonly args: unknown;
  readonly options: Record<string, unknown>;
}

const DATE_TAG = '$date';

function serializeOptions(options: EnqueueOptions | undefined): Record<string, unknown> {
  if (!options) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (value instanceof Date) out[key] = { [DATE_TAG]: value.getTime() };
    else if (key === 'retryPolicy') out[key] = serializeRetryPolicy(value as NonNullable<EnqueueOptions['retryPolicy']>);
    else if (key === 'link' || key === 'linkError') out[key] = serializeTaskCalls(value as readonly TaskCallSpec[]);
    else out[key] = value;
  }
  return out;
}

/**
 * A JSON-safe copy of a call (dates tagged, retry policy matchers as names, nested links
 * serialized). `taskId` pre-assigns the id the call will be enqueued under.
 */
export function serializeTaskCall(call: TaskCallSpec, taskId?: string): SerializedTaskCall {
  const options = serializeOptions(call.options);
  if (taskId !== undefined) options.taskId = taskId;
  return { name: call.name, args: call.args ?? {}, options };
}

/** {@link serializeTaskCall} for a list. */
export function serializeTaskCalls(calls: readonly TaskCallSpec[]): SerializedTaskCall[] {
  return calls.map((call) => serializeTaskCall(call));
}

/** Enqueue options back from a {@link SerializedTaskCall}. */
export function deserializeEnqueueOptions(options: Record<string, unknown> | undefined): EnqueueOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value && typeof value === 'object' && DATE_TAG in value) out[key] = new Date((value as Record<string, number>)[DATE_TAG]!);
    else if (key === 'link' || key === 'linkError')
      out[key] = (value as SerializedTaskCall[]).map((c) => ({ name: c.name, args: c.args, options: deserializeEnqueueOptions(c.options) }));
    else out[key] = value;
  }
  return out as EnqueueOptions;
}
