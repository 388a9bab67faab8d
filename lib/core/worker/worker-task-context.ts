import type { Delivery } from '../contracts/broker.js';
import type { Envelope } from '../envelope.js';
import { StemMeta } from '../envelope.js';
import { TaskRetryRequest } from '../errors/task-retry-request.error.js';
import type { TaskContext } from '../task-context.js';
import type { EnqueueOptions } from '../task-options.js';
import { createTaskLogger, type TaskLogger, type TaskLogSink } from '../observability/task-logger.js';

const NOT_INHERITED = /^(stem-|scheduled-from$|schedule-id$)/;

/** Headers a child task inherits: user headers and trace context, not Stem's own. */
function inheritableHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (!NOT_INHERITED.test(key)) out[key] = value;
  return out;
}

/** What a context needs from the worker that runs it. */
export interface TaskContextHost {
  heartbeat(delivery: Delivery): Promise<void>;
  extendLease(delivery: Delivery, ms: number): Promise<void>;
  progress(delivery: Delivery, percent: number, data: unknown): Promise<void>;
  enqueue(name: string, args: unknown, options: EnqueueOptions): Promise<string>;
  /** Where `ctx.logger` lines go. */
  readonly taskLogSink: TaskLogSink;
}

/** The {@link TaskContext} handed to a handler by the worker. */
export class WorkerTaskContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly attempt: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly envelope: Envelope;
  private taskLogger?: TaskLogger;

  constructor(
    private readonly delivery: Delivery,
    readonly maxRetries: number,
    private readonly signalOf: () => AbortSignal,
    private readonly host: TaskContextHost,
  ) {
    const env = delivery.envelope;
    this.envelope = env;
    this.id = env.id;
    this.name = env.name;
    this.queue = env.queue;
    this.attempt = env.attempt;
    this.headers = env.headers;
    this.meta = env.meta;
  }

  get signal(): AbortSignal {
    return this.signalOf();
  }

  get logger(): TaskLogger {
    return (this.taskLogger ??= createTaskLogger(this.envelope, this.host.taskLogSink));
  }

  heartbeat(): Promise<void> {
    return this.host.heartbeat(this.delivery);
  }

  extendLease(ms: number): Promise<void> {
    return this.host.extendLease(this.delivery, ms);
  }

  progress(percent: number, data?: unknown): Promise<void> {
    return this.host.progress(this.delivery, Math.min(100, Math.max(0, percent)), data);
  }

  retry(options: { countdown?: number; reason?: string } = {}): never {
    throw new TaskRetryRequest(options.countdown, options.reason);
  }

  idempotencyKey(scope?: string): string {
    return scope ? `${this.name}/${this.id}/${scope}` : `${this.name}/${this.id}`;
  }

  enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}): Promise<string> {
    const root = (this.meta[StemMeta.rootTaskId] as string | undefined) ?? this.id;
    return this.host.enqueue(name, args, {
      ...options,
      headers: { ...inheritableHeaders(this.headers), ...options.headers },
      meta: {
        ...options.meta,
        [StemMeta.parentTaskId]: this.id,
        [StemMeta.rootTaskId]: root,
        [StemMeta.parentAttempt]: this.attempt,
      },
    });
  }
}
