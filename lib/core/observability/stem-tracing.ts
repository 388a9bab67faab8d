import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Envelope } from '../envelope.js';
import { lineageAttributes, MESSAGING_SYSTEM, MessagingAttributes, StemSpanAttributes } from './span-attributes.js';
import { readTraceContext, TraceHeaders, traceHeadersOf } from './trace-headers.js';

/** What the global provider delegates to while no SDK is registered. */
const NO_SDK = new ProxyTracerProvider().getDelegate();

/** Name of the OpenTelemetry tracer Stem's spans come from. */
export const STEM_TRACER_NAME = 'nestjs-stem';

/**
 * How a `process` span relates to the `send` span of its message:
 * - `child` (default): it is a child of the producer's context, so one trace follows the task
 *   from the request that enqueued it through every attempt (and links to it as well);
 * - `link`: it starts a new trace with a link to the producer's context (for long-delayed or
 *   fan-out work whose traces should stay small).
 */
export type TraceParentage = 'child' | 'link';

/** Tracing options of `Stem`, `Worker`, `Beat` and the Nest module. */
export interface TracingOptions {
  /** @default the global provider (`trace.getTracerProvider()`): a no-op until an OpenTelemetry SDK registers one */
  readonly tracerProvider?: TracerProvider;
  /** @default 'child' */
  readonly parentage?: TraceParentage;
}

/** `true`/`undefined` (the global provider), options, a shared {@link StemTracing}, or `false` (off). */
export type TracingSetting = boolean | TracingOptions | StemTracing;

/** The `send` span of one envelope, open while it is published. */
export interface SendSpan {
  /** The envelope with the span's `traceparent`/`tracestate` headers (unchanged when nothing records). */
  readonly envelope: Envelope;
  /** Ends the span: OK, or ERROR with `error.type` when `error` is given. */
  end(error?: unknown): void;
  /** Marks the enqueue as a duplicate of a unique task (nothing was published). */
  deduplicated(): void;
}

function withTraceHeaders(headers: Readonly<Record<string, string>>, spanContext: SpanContext): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  delete out[TraceHeaders.tracestate];
  return Object.assign(out, traceHeadersOf(spanContext));
}

/** The low-cardinality class of an error, for `error.type`. */
export function errorTypeOf(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor?.name || 'Error';
  return typeof error;
}

/** Ends a span as failed by `error`: status ERROR with its message, `error.type`, and the exception event. */
export function failSpan(span: Span, error: unknown): void {
  span.setAttribute(MessagingAttributes.errorType, errorTypeOf(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Stem's spans, on the OpenTelemetry messaging semantic conventions, through `@opentelemetry/api`
 * only: every call is a cheap no-op until an SDK registers a tracer provider.
 *
 * - `send <queue>` (PRODUCER) per enqueued envelope; its context travels in the envelope's
 *   W3C `traceparent`/`tracestate` headers, written before the envelope is signed and kept
 *   across retries, rate-limit delays, chains, chords, links and child tasks;
 * - `process <queue>` (CONSUMER) per attempt, around the handler (see {@link TaskTracingExtension});
 * - `beat <schedule id>` around each Beat dispatch; `workflow <name>` and `step <name>` for workflow runtimes.
 *
 * @example
 * const tracing = new StemTracing({ parentage: 'link' });
 * const stem = new Stem({ broker, backend, tracing });
 * const worker = new Worker({ broker, backend, registry, producer: stem, tracing });
 */
export class StemTracing {
  /** The tracer Stem's spans come from (`nestjs-stem`). */
  readonly tracer: Tracer;
  /** How `process` spans relate to their `send` span. */
  readonly parentage: TraceParentage;
  private readonly provider?: TracerProvider;

  constructor(options: TracingOptions = {}) {
    this.provider = options.tracerProvider;
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(STEM_TRACER_NAME);
    this.parentage = options.parentage ?? 'child';
  }

  /**
   * Whether spans can record: `false` while the tracer provider is the global one and no SDK is
   * registered behind it (then Stem skips its spans entirely, and headers stay as they are). An
   * SDK registered later is picked up on the next call.
   */
  get enabled(): boolean {
    const provider = this.provider ?? trace.getTracerProvider();
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK;
  }

  /** The tracing a setting asks for, or `undefined` when it is `false`. */
  static from(setting: TracingSetting | undefined): StemTracing | undefined {
    if (setting === false) return undefined;
    if (setting instanceof StemTracing) return setting;
    return new StemTracing(setting === true || setting === undefined ? {} : setting);
  }

  /**
   * Opens the `send` span of an envelope about to be published. Its parent is the active span,
   * else the context the envelope already carries (a canvas follow-up of an earlier task), else
   * none (a new trace). `undefined` when nothing can record (see {@link enabled}).
   */
  startSend(envelope: Envelope): SendSpan | undefined {
    if (!this.enabled) return undefined;
    const active = context.active();
    let parent = active;
    const current = trace.getSpanContext(active);
    if (!current || !isSpanContextValid(current)) {
      const carried = readTraceContext(envelope.headers);
      if (carried) parent = trace.setSpanContext(active, carried);
    }
    return this.openSend(envelope, parent, undefined, false);
  }

  /**
   * Opens the `send` span of a dead letter being replayed: a new trace (under the active span,
   * if any) that links to the trace the envelope was first sent in. `undefined` when nothing can record.
   */
  startReplay(envelope: Envelope): SendSpan | undefined {
    if (!this.enabled) return undefined;
    const original = readTraceContext(envelope.headers);
    return this.openSend(envelope, context.active(), original ? [{ context: original, attributes: { [StemSpanAttributes.replayed]: true } }] : undefined, true);
  }

  /**
   * Runs `dispatch` inside the span `beat <schedule id>` (a new trace), so the `send` span of the
   * task it enqueues is its child.
   */
  traceBeatDispatch<T>(schedule: { readonly id: string; readonly task: string }, scheduledFor: number, dispatch: () => Promise<T>): Promise<T> {
    return this.inSpan(
      `beat ${schedule.id}`,
      { [StemSpanAttributes.scheduleId]: schedule.id, [StemSpanAttributes.taskName]: schedule.task, 'stem.schedule.scheduled_for': scheduledFor },
      dispatch,
      ROOT_CONTEXT,
    );
  }

  /**
   * Runs one advance of a workflow run inside the span `workflow <name>` (under the active span,
   * which is the `process` span of the task that advances the run).
   */
  traceWorkflow<T>(workflow: { readonly name: string; readonly runId: string }, run: () => Promise<T>): Promise<T> {
    return this.inSpan(`workflow ${workflow.name}`, { [StemSpanAttributes.workflowName]: workflow.name, [StemSpanAttributes.workflowRunId]: workflow.runId }, run);
  }

  /** Runs one workflow step inside the span `step <name>` (under the active `workflow` span). */
  traceStep<T>(step: { readonly workflow: string; readonly runId: string; readonly name: string }, run: () => Promise<T>): Promise<T> {
    return this.inSpan(
      `step ${step.name}`,
      { [StemSpanAttributes.workflowName]: step.workflow, [StemSpanAttributes.workflowRunId]: step.runId, [StemSpanAttributes.workflowStep]: step.name },
      run,
    );
  }

  /** Runs `fn` inside an INTERNAL span (active while it runs); a throw ends the span ERROR and is rethrown. */
  async inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, parent: Context = context.active()): Promise<T> {
    if (!this.enabled) return fn();
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: { [MessagingAttributes.system]: MESSAGING_SYSTEM, ...attributes } }, parent);
    try {
      return await context.with(trace.setSpan(parent, span), fn);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  private openSend(envelope: Envelope, parent: Context, links: Link[] | undefined, replayed: boolean): SendSpan {
    const attributes: Record<string, string | number | boolean> = {
      [MessagingAttributes.system]: MESSAGING_SYSTEM,
      [MessagingAttributes.operationType]: 'send',
      [MessagingAttributes.operationName]: 'send',
      [MessagingAttributes.destinationName]: envelope.queue,
      [MessagingAttributes.messageId]: envelope.id,
      [StemSpanAttributes.taskName]: envelope.name,
      [StemSpanAttributes.taskAttempt]: envelope.attempt,
    };
    if (replayed) attributes[StemSpanAttributes.replayed] = true;
    lineageAttributes(envelope, attributes);
    const span = this.tracer.startSpan(`send ${envelope.queue}`, { kind: SpanKind.PRODUCER, attributes, ...(links ? { links } : {}) }, parent);
    const spanContext = span.spanContext();
    const traced = isSpanContextValid(spanContext) ? { ...envelope, headers: withTraceHeaders(envelope.headers, spanContext) } : envelope;
    return {
      envelope: traced,
      end: (error?: unknown) => {
        if (error !== undefined) failSpan(span, error);
        span.end();
      },
      deduplicated: () => span.setAttribute(StemSpanAttributes.deduplicated, true),
    };
  }
}
