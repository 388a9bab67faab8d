import { context, type SpanContext, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** A finished span as plain JSON (what a child process prints and a test compares). */
export interface SpanRecord {
  readonly name: string;
  readonly kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: number;
  readonly links: readonly { traceId: string; spanId: string; attributes: Readonly<Record<string, unknown>> }[];
}

const KINDS: Record<SpanKind, SpanRecord['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** The JSON form of a finished span. */
export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx: SpanContext = span.spanContext();
  return {
    name: span.name,
    kind: KINDS[span.kind],
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    attributes: { ...span.attributes },
    status: span.status.code,
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: { ...l.attributes } })),
  };
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Registers an async-local-storage context manager once per process, as an OpenTelemetry SDK would. */
export function enableContextPropagation(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

/** A tracer provider whose finished spans are kept in memory. */
export function memoryTracing(): { provider: BasicTracerProvider; spans: () => SpanRecord[]; reset: () => void } {
  enableContextPropagation();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, spans: () => exporter.getFinishedSpans().map(toSpanRecord), reset: () => exporter.reset() };
}

/** A tracer provider that prints each finished span as one `span <json>` line on stdout (for child processes). */
export function stdoutTracing(): BasicTracerProvider {
  enableContextPropagation();
  const exporter: SpanExporter = {
    export: (spans, done) => {
      for (const span of spans) process.stdout.write(`span ${JSON.stringify(toSpanRecord(span))}\n`);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  return new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
}

/** Every span named `name`. */
export function named(spans: readonly SpanRecord[], name: string): SpanRecord[] {
  return spans.filter((s) => s.name === name);
}
