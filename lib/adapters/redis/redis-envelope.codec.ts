import type { Envelope } from '../../core/envelope.js';
import { clampPriority, type QueueKeys } from './redis.keys.js';

/** The KEYS of a queue script, in the order `scripts/queue-lib.lua.ts` documents. */
export function queueScriptKeys(keys: QueueKeys): string[] {
  return [...keys.streams, keys.delayed, keys.leases, keys.signal, keys.dead, keys.deadEntries];
}

/** Serialises an envelope for a stream entry or a delayed member. */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** The stored lease length of an envelope ('' means the consumer's default). */
export function leaseField(envelope: Envelope): string {
  const ms = envelope.visibilityTimeout;
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? String(Math.ceil(ms)) : '';
}

/** Stream priority of an envelope. */
export function priorityOf(envelope: Envelope): number {
  return clampPriority(envelope.priority);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a stored envelope. Missing optional fields get their defaults.
 * @throws Error when the text is not an envelope (no JSON object with a string id and name)
 */
export function decodeEnvelope(text: string, queue: string): Envelope {
  const value: unknown = JSON.parse(text);
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.name !== 'string') {
    throw new Error('stored entry is not an envelope (needs string "id" and "name")');
  }
  // NOTE: the parsed object is fresh, so defaults are filled in place rather than copied.
  if (!('args' in value)) value.args = undefined;
  if (!isRecord(value.headers)) value.headers = {};
  if (typeof value.queue !== 'string') value.queue = queue;
  if (typeof value.priority !== 'number') value.priority = 0;
  if (typeof value.attempt !== 'number') value.attempt = 0;
  if (typeof value.enqueuedAt !== 'number') value.enqueuedAt = 0;
  if (!isRecord(value.meta)) value.meta = {};
  return value as unknown as Envelope;
}

/** A placeholder envelope for an entry that could not be decoded, so it can be dead-lettered. */
export function malformedEnvelope(queue: string, priority: number, entryId: string): Envelope {
  return { id: `malformed:${entryId}`, name: 'unknown', args: null, headers: {}, queue, priority, attempt: 0, enqueuedAt: 0, meta: {} };
}

/**
 * A delivery receipt: `<priority>:<entry id>@<queue>`. The part before `@` is the lease member.
 * Stream entry ids change when a lapsed lease is reclaimed, so a receipt names one delivery.
 */
export interface ParsedReceipt {
  readonly priority: number;
  readonly entryId: string;
  readonly member: string;
  readonly queue: string;
}

/** Builds a receipt. */
export function makeReceipt(priority: number, entryId: string, queue: string): string {
  return `${priority}:${entryId}@${queue}`;
}

/** Parses a receipt made by {@link makeReceipt}; `null` when it is not one. */
export function parseReceipt(receipt: string): ParsedReceipt | null {
  const at = receipt.indexOf('@');
  const colon = receipt.indexOf(':');
  if (at < 0 || colon !== 1) return null;
  const priority = Number(receipt[0]);
  if (!Number.isInteger(priority)) return null;
  return { priority, entryId: receipt.slice(2, at), member: receipt.slice(0, at), queue: receipt.slice(at + 1) };
}
