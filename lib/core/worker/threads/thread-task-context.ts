import { TaskRetryRequest } from '../../errors/task-retry-request.error.js';
import type { Envelope } from '../../envelope.js';
import type { TaskLogger, TaskLogLevel } from '../../observability/task-logger.js';
import type { TaskContext } from '../../task-context.js';
import type { EnqueueOptions } from '../../task-options.js';
import type { ThreadContextInit, ThreadContextMethod } from './thread-protocol.js';

/** Sends one `ctx` call to the worker's side and resolves with its answer. */
export type ThreadContextCall = (method: ThreadContextMethod, params: readonly unknown[]) => Promise<unknown>;

/**
 * The {@link TaskContext} of a task running in a pool thread: the envelope's fields are copies,
 * `signal` aborts when the worker aborts the attempt, and `heartbeat`, `extendLease`,
 * `progress` and `enqueue` are carried out by the worker's own context (lease, backend, lineage
 * of child tasks) over the thread's message port.
 */
export class ThreadTaskContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly attempt: number;
  readonly maxRetries: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly envelope: Envelope;
  /** Lines go to the worker's `taskLogSink` on the main thread, stamped with the attempt's fields there. */
  readonly logger: TaskLogger;

  constructor(
    init: ThreadContextInit,
    readonly signal: AbortSignal,
    private readonly call: ThreadContextCall,
  ) {
    const env = init.envelope;
    this.envelope = env;
    this.id = env.id;
    this.name = env.name;
    this.queue = env.queue;
    this.attempt = env.attempt;
    this.maxRetries = init.maxRetries;
    this.headers = env.headers;
    this.meta = env.meta;
    const write = (level: TaskLogLevel) => (message: string, extra?: Record<string, unknown>) => void this.call('log', [level, message, extra]).catch(() => undefined);
    this.logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
  }

  async heartbeat(): Promise<void> {
    await this.call('heartbeat', []);
  }

  async extendLease(ms: number): Promise<void> {
    await this.call('extendLease', [ms]);
  }

  async progress(percent: number, data?: unknown): Promise<void> {
    await this.call('progress', [percent, data]);
  }

  retry(options: { countdown?: number; reason?: string } = {}): never {
    throw new TaskRetryRequest(options.countdown, options.reason);
  }

  idempotencyKey(scope?: string): string {
    return scope ? `${this.name}/${this.id}/${scope}` : `${this.name}/${this.id}`;
  }

  async enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}): Promise<string> {
    return (await this.call('enqueue', [name, args, options])) as string;
  }
}
