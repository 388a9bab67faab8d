import { createTraceState, isSpanContextValid, type SpanContext, TraceFlags } from '@opentelemetry/api';

/** The W3C Trace Context headers Stem writes into an envelope at enqueue. */
export const TraceHeaders = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The span context carried by an envelope's `traceparent` (and `tracestate`) header, or
 * `undefined` when there is none or it is malformed. Version `ff` and all-zero ids are refused,
 * as the W3C Trace Context recommendation says.
 */
export function readTraceContext(headers: Readonly<Record<string, string>>): SpanContext | undefined {
  const header = headers[TraceHeaders.traceparent];
  if (typeof header !== 'string') return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[0].length !== 55)) return undefined;
  const state = headers[TraceHeaders.tracestate];
  const spanContext: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(typeof state === 'string' && state.length > 0 ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** The `traceparent` (and, when there is one, `tracestate`) header values of a span context. */
export function traceHeadersOf(spanContext: SpanContext): Record<string, string> {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: Record<string, string> = { [TraceHeaders.traceparent]: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
  const state = spanContext.traceState?.serialize();
  if (state) headers[TraceHeaders.tracestate] = state;
  return headers;
}
