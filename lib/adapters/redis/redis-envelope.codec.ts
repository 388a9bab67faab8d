import type { Envelope } from '../../core/envelope.js';
import { type EnvelopeValidation, malformedPlaceholder, parseEnvelope } from '../../core/envelope-validator.js';
import { clampPriority, type QueueKeys } from './redis.keys.js';

/** The KEYS of a queue script, in the order `scripts/queue-lib.lua.ts` documents. */
export function queueScriptKeys(keys: QueueKeys): string[] {
  return [...keys.streams, keys.delayed, keys.leases, keys.signal, keys.dead, keys.deadEntries, keys.deadIndex];
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

/**
 * Parses and validates a stored envelope with the core rules ({@link parseEnvelope}): a wrong
 * type is reported (the consumer dead-letters it as `malformed-envelope`), never defaulted.
 */
export function decodeEnvelope(text: string): EnvelopeValidation {
  return parseEnvelope(text);
}

/**
 * A stand-in envelope for an entry that failed validation, so it can be dead-lettered: the
 * entry's own id when it has a usable one, else `malformed:<priority>:<entry id>`.
 */
export function malformedEnvelope(text: string, queue: string, priority: number, entryId: string): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  return malformedPlaceholder(raw, { id: `malformed:${priority}:${entryId}`, queue, priority });
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
