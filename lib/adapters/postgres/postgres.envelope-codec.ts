import type { Envelope } from '../../core/envelope.js';
import { malformedPlaceholder, parseEnvelope } from '../../core/envelope-validator.js';

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
 * Parses and validates a stored envelope with the core rules ({@link parseEnvelope}). Anything
 * that is not JSON, or breaks a rule, is reported rather than thrown so the consumer can
 * dead-letter it (`malformed-envelope`) and go on.
 */
export function decodeEnvelope(text: string): DecodedEnvelope {
  const result = parseEnvelope(text);
  return result.ok ? { ok: true, envelope: result.envelope } : { ok: false, error: result.details };
}

/** A stand-in envelope for a row that could not be decoded, so it can still be dead-lettered. */
export function placeholderEnvelope(row: { task_id: string; queue: string; priority: number; attempt: number; created_ms: number; envelope?: string }): Envelope {
  let raw: unknown;
  try {
    raw = row.envelope === undefined ? undefined : JSON.parse(row.envelope);
  } catch {
    raw = undefined;
  }
  // NOTE: the row's task id wins so the dead letter is found under the id the row was stored with.
  const envelope = malformedPlaceholder(raw, { id: row.task_id, queue: row.queue, priority: row.priority, attempt: row.attempt, enqueuedAt: row.created_ms });
  return { ...envelope, id: row.task_id };
}
