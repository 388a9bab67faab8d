import type { Envelope } from '../envelope.js';
import { StemHeaders } from '../envelope.js';
import { canonicalJson } from './canonical-json.js';

/** The envelope fields every payload names, present or not (absent optional ones are `null`). */
const ENVELOPE_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'name',
  'queue',
  'args',
  'meta',
  'headers',
  'enqueuedAt',
  'notBefore',
  'priority',
  'attempt',
  'maxRetries',
  'visibilityTimeout',
]);

/**
 * The exact text that is signed for an envelope: canonical sorted JSON of its id, name, queue,
 * args, meta, headers (without the signature headers), enqueuedAt, notBefore, priority, attempt,
 * maxRetries and visibilityTimeout (ms), plus any other own member the envelope carries (an
 * envelope built by Stem has none; one a broker decoded carries whatever travelled, so an inserted
 * `__proto__` or `constructor` member changes the text and fails verification).
 */
export function signingPayload(envelope: Envelope): string {
  // NOTE: prototype-less records, so a `__proto__` key is stored as a key rather than swallowed.
  const headers = Object.create(null) as Record<string, unknown>;
  const source: unknown = envelope.headers;
  if (source !== null && typeof source === 'object' && !Array.isArray(source)) {
    for (const [key, value] of Object.entries(source)) {
      if (key !== StemHeaders.signature && key !== StemHeaders.signatureKey) headers[key] = value;
    }
  } else {
    // A header record that is not a record still has to be covered as it travels.
    headers['stem.headers'] = source ?? null;
  }
  const payload = Object.create(null) as Record<string, unknown>;
  Object.assign(payload, {
    id: envelope.id,
    name: envelope.name,
    queue: envelope.queue,
    args: envelope.args,
    meta: envelope.meta,
    headers,
    enqueuedAt: envelope.enqueuedAt,
    notBefore: envelope.notBefore ?? null,
    priority: envelope.priority,
    attempt: envelope.attempt,
    maxRetries: envelope.maxRetries ?? null,
    visibilityTimeout: envelope.visibilityTimeout ?? null,
  });
  for (const key of Object.keys(envelope)) {
    if (!ENVELOPE_FIELDS.has(key)) payload[`extra:${key}`] = (envelope as unknown as Record<string, unknown>)[key];
  }
  return canonicalJson(payload);
}
