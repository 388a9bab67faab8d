import { type Attributes, SpanKind } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

const KIND: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** The attributes worth a glance in the tree. */
function summary(attributes: Attributes): string {
  const picked: [string, string][] = [
    ['stem.task.name', 'task'],
    ['stem.task.attempt', 'attempt'],
    ['stem.task.state', 'state'],
    ['error.type', 'error'],
  ];
  return picked
    .filter(([key]) => attributes[key] !== undefined)
    .map(([key, label]) => `${label}=${String(attributes[key])}`)
    .join(' ');
}

const millis = (span: ReadableSpan) => span.duration[0] * 1_000 + span.duration[1] / 1e6;

/**
 * Keeps finished spans and, at shutdown, prints every trace that went through Stem as a tree:
 * one line per span with its kind, duration and the task attributes.
 */
export class SpanTreeExporter implements SpanExporter {
  private readonly spans: ReadableSpan[] = [];

  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.spans.push(...spans);
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {
    const traces = new Map<string, ReadableSpan[]>();
    for (const span of this.spans) {
      const id = span.spanContext().traceId;
      traces.set(id, [...(traces.get(id) ?? []), span]);
    }
    for (const [traceId, spans] of traces) {
      if (!spans.some((s) => s.attributes['messaging.system'] === 'stem')) continue;
      const ids = new Set(spans.map((s) => s.spanContext().spanId));
      const children = (parent: string | undefined) =>
        spans
          .filter((s) => (parent === undefined ? !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId) : s.parentSpanContext?.spanId === parent))
          .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
      const lines: string[] = [`trace ${traceId}`];
      const walk = (span: ReadableSpan, prefix: string, last: boolean, root: boolean) => {
        const branch = root ? '' : last ? '└─ ' : '├─ ';
        lines.push(`${prefix}${branch}${span.name}  [${KIND[span.kind]}] ${millis(span).toFixed(1)} ms  ${summary(span.attributes)}`.trimEnd());
        const next = children(span.spanContext().spanId);
        next.forEach((child, i) => walk(child, root ? prefix : `${prefix}${last ? '   ' : '│  '}`, i === next.length - 1, false));
      };
      for (const root of children(undefined)) walk(root, '', true, true);
      console.log(lines.join('\n'));
    }
  }
}

/**
 * With `SAMPLE_OTEL=console`, starts the OpenTelemetry Node SDK with a {@link SpanTreeExporter};
 * returns the function that flushes it (printing the trees), or `undefined` without the variable.
 */
export async function startTracing(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.SAMPLE_OTEL !== 'console') return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName: 'stem-sample', traceExporter: new SpanTreeExporter(), instrumentations: [] });
  sdk.start();
  return () => sdk.shutdown();
}
