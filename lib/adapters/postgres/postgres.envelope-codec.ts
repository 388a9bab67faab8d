import type { Envelope } from '../../core/envelope.js';

/** Priority as stored: an integer 0–9. */
export function clampPriority(priority: number): number {
  if (!Number.isFinite(priority)) return 0;
  return Math.min(9, Math.max(0, Math.trunc(priority)));
}

/** Parameters $1..$7 of `insertJobs` for a batch of envelopes. */
export function jobInsertParams(envelopes: readonly Envelope[]): unknown[] {
  const ids: string[] = [];
  const queues: string[] = [];
  const priorities: number[] = [];
  const notBefore: (number | null)[] = [];
  const attempts: number[] = [];
  const visibility: (number | null)[] = [];
  const bodies: string[] = [];
  for (const envelope of envelopes) {
    ids.push(envelope.id);
    queues.push(envelope.queue);
    priorities.push(clampPriority(envelope.priority));
    notBefore.push(envelope.notBefore ?? null);
    attempts.push(envelope.attempt);
    visibility.push(envelope.visibilityTimeout === undefined ? null : Math.round(envelope.visibilityTimeout));
    bodies.push(JSON.stringify(envelope));
  }
  return [ids, queues, priorities, notBefore, attempts, visibility, bodies];
}

/** The outcome of decoding a stored envelope. */
export type DecodedEnvelope = { ok: true; envelope: Envelope } | { ok: false; error: string };

/**
 * Parses and checks a stored envelope. Anything that is not JSON, or lacks the fields a worker
 * relies on, is reported rather than thrown so the consumer can dead-letter it and go on.
 */
export function decodeEnvelope(text: string): DecodedEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'not a JSON object' };
  const e = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of ['id', 'name', 'queue'] as const) if (typeof e[key] !== 'string' || e[key] === '') problems.push(`${key} must be a non-empty string`);
  for (const key of ['attempt', 'priority', 'enqueuedAt'] as const) if (typeof e[key] !== 'number') problems.push(`${key} must be a number`);
  for (const key of ['headers', 'meta'] as const) if (typeof e[key] !== 'object' || e[key] === null) problems.push(`${key} must be an object`);
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  return { ok: true, envelope: value as Envelope };
}

/** A stand-in envelope for a row that could not be decoded, so it can still be dead-lettered. */
export function placeholderEnvelope(row: { task_id: string; queue: string; priority: number; attempt: number; created_ms: number }): Envelope {
  return {
    id: row.task_id,
    name: 'unknown',
    args: null,
    headers: {},
    queue: row.queue,
    priority: row.priority,
    attempt: row.attempt,
    enqueuedAt: Math.round(row.created_ms),
    meta: {},
  };
}
