import { createHash } from 'node:crypto';
import { canonicalJson } from '../signing/canonical-json.js';

/** What a unique key is computed from. */
export interface UniqueKeyInput {
  readonly task: string;
  readonly queue: string;
  readonly args: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly meta?: Readonly<Record<string, unknown>>;
}

const RESERVED_META = /^(stem\.|__stem)/;
/** Stem's own headers, and the trace context, which differs per caller and must not split duplicates apart. */
const RESERVED_HEADER = /^(stem-|traceparent$|tracestate$)/;

/**
 * The sha256 (hex) of canonical sorted JSON of task name, queue, args, user headers and meta
 * without reserved keys (`stem.*`, `__stem*`, `stem-*` headers, and the `traceparent`/`tracestate`
 * trace context). Key order never matters.
 */
export function computeUniqueKey(input: UniqueKeyInput): string {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) if (!RESERVED_HEADER.test(k)) headers[k] = v;
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.meta ?? {})) if (!RESERVED_META.test(k)) meta[k] = v;
  const text = canonicalJson({ task: input.task, queue: input.queue, args: input.args ?? null, headers, meta });
  return createHash('sha256').update(text).digest('hex');
}
