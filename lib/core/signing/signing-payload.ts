import type { Envelope } from '../envelope.js';
import { StemHeaders } from '../envelope.js';
import { canonicalJson } from './canonical-json.js';

/**
 * The exact text that is signed for an envelope: canonical sorted JSON of its id, name, queue,
 * args, meta, headers (without the signature headers), enqueuedAt, notBefore, priority, attempt,
 * maxRetries and visibilityTimeout (ms). Anything else a broker adds is not covered.
 */
export function signingPayload(envelope: Envelope): string {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(envelope.headers)) {
    if (key !== StemHeaders.signature && key !== StemHeaders.signatureKey) headers[key] = value;
  }
  return canonicalJson({
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
}
