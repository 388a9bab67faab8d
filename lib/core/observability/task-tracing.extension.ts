import { context, type Link, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import { failureDisposition } from '../worker/failure-disposition.js';
import type { TaskRun } from '../worker/task-executor.js';
import type { WorkerExtension } from '../worker/worker-extension.js';
import { lineageAttributes, MESSAGING_SYSTEM, MessagingAttributes, StemSpanAttributes } from './span-attributes.js';
import { failSpan, type StemTracing } from './stem-tracing.js';
import { readTraceContext } from './trace-headers.js';

/**
 * The worker extension that opens a `process <queue>` span (kind CONSUMER) around each attempt,
 * with the handler running inside it, so spans the task creates (and the `send` spans of child
 * tasks) nest under it. Its parent is the `send` span whose context the envelope carries
 * (`parentage: 'child'`), or none (`'link'`); it links to that context either way. A retry keeps
 * the envelope's headers, so the attempts of one task are siblings under one `send` span.
 *
 * A failed attempt ends with status ERROR and `error.type`; `stem.task.state` says what the
 * attempt left the task in (`succeeded`, `retried`, `failed`, or `queued` when a shutdown put it back).
 */
export class TaskTracingExtension implements WorkerExtension {
  /** Names the extension in error messages. */
  readonly name = 'tracing';

  /**
   * @param workerId recorded as `messaging.client.id`
   */
  constructor(
    private readonly tracing: StemTracing,
    private readonly workerId: string,
  ) {}

  /** Runs the attempt inside its `process` span (or straight through while nothing can record). */
  wrapRun(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    return this.tracing.enabled ? this.traced(run, next) : next();
  }

  private async traced(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    const env = run.envelope;
    const creation = readTraceContext(env.headers);
    const parent = creation && this.tracing.parentage === 'child' ? trace.setSpanContext(ROOT_CONTEXT, creation) : ROOT_CONTEXT;
    const attributes: Record<string, string | number | boolean> = {
      [MessagingAttributes.system]: MESSAGING_SYSTEM,
      [MessagingAttributes.operationType]: 'process',
      [MessagingAttributes.operationName]: 'process',
      [MessagingAttributes.destinationName]: env.queue,
      [MessagingAttributes.messageId]: env.id,
      [MessagingAttributes.consumerGroupName]: env.queue,
      [MessagingAttributes.clientId]: this.workerId,
      [StemSpanAttributes.taskName]: env.name,
      [StemSpanAttributes.taskAttempt]: env.attempt,
    };
    lineageAttributes(env, attributes);
    const links: Link[] | undefined = creation ? [{ context: creation }] : undefined;
    const span = this.tracing.tracer.startSpan(`process ${env.queue}`, { kind: SpanKind.CONSUMER, attributes, ...(links ? { links } : {}) }, parent);
    try {
      const result = await context.with(trace.setSpan(parent, span), next);
      span.setAttribute(StemSpanAttributes.taskState, 'succeeded');
      return result;
    } catch (error) {
      span.setAttribute(StemSpanAttributes.taskState, this.stateAfter(run, error));
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** What the worker does with the task after this failed attempt. */
  private stateAfter(run: TaskRun, error: unknown): 'retried' | 'failed' | 'queued' {
    if (run.signal.aborted && run.signal.reason instanceof WorkerShutdownError) return 'queued';
    return failureDisposition(error, run.envelope.attempt, run.maxRetries, run.retryPolicy).retry ? 'retried' : 'failed';
  }
}
