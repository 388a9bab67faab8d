import type { TaskProducer } from '../contracts/producer.js';
import type { EnqueueOptions, RetryPolicy, TaskCallSpec } from '../task-options.js';
import type { TaskResult, WaitOptions } from '../task-result.js';
import type { TaskDefinition } from './task-definition.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Fluent per-call options for a typed definition; get one from `stem.build(definition, args)`.
 * Later calls override earlier ones; headers and meta accumulate.
 *
 * @example
 * await stem.build(resizeImage, { url, width: 256 })
 *   .queue('images').priority(8).delay(1_000).header('x-tenant', 't1').expires(60_000)
 *   .enqueue();
 */
export class TaskEnqueueBuilder<TArgs, TResult> {
  private readonly opts: Mutable<EnqueueOptions> = {};

  constructor(
    private readonly stem: TaskProducer,
    private readonly definition: TaskDefinition<TArgs, TResult>,
    private readonly args: TArgs,
  ) {}

  /** Adds a header. */
  header(name: string, value: string): this {
    this.opts.headers = { ...this.opts.headers, [name]: value };
    return this;
  }

  /** Adds a meta entry. */
  meta(key: string, value: unknown): this {
    this.opts.meta = { ...this.opts.meta, [key]: value };
    return this;
  }

  /** Priority 0–9, higher first. */
  priority(priority: number): this {
    this.opts.priority = priority;
    return this;
  }

  /** Ms before the task becomes visible. */
  delay(ms: number): this {
    this.opts.delay = ms;
    return this;
  }

  /** Absolute time before which the task does not run. */
  eta(at: Date | number): this {
    this.opts.eta = at;
    return this;
  }

  /** Queue to publish to. */
  queue(queue: string): this {
    this.opts.queue = queue;
    return this;
  }

  /** Ms from now (or an absolute Date) after which the task is cancelled instead of run. */
  expires(expires: number | Date): this {
    this.opts.expires = expires;
    return this;
  }

  /** Use this task id. */
  taskId(id: string): this {
    this.opts.taskId = id;
    return this;
  }

  /** Retries after the first attempt. */
  maxRetries(n: number): this {
    this.opts.maxRetries = n;
    return this;
  }

  /** Backoff and retry filters for this call. */
  retryPolicy(policy: RetryPolicy): this {
    this.opts.retryPolicy = policy;
    return this;
  }

  /** Deduplicate this call, optionally with a lock TTL in ms. */
  unique(uniqueFor?: number): this {
    this.opts.unique = true;
    if (uniqueFor !== undefined) this.opts.uniqueFor = uniqueFor;
    return this;
  }

  /** Tasks to enqueue after success. */
  link(...calls: TaskCallSpec[]): this {
    this.opts.link = [...(this.opts.link ?? []), ...calls];
    return this;
  }

  /** Tasks to enqueue after a terminal failure. */
  linkError(...calls: TaskCallSpec[]): this {
    this.opts.linkError = [...(this.opts.linkError ?? []), ...calls];
    return this;
  }

  /** Merges any other enqueue options. */
  options(options: EnqueueOptions): this {
    const { headers, meta, ...rest } = options;
    Object.assign(this.opts, rest);
    if (headers) this.opts.headers = { ...this.opts.headers, ...headers };
    if (meta) this.opts.meta = { ...this.opts.meta, ...meta };
    return this;
  }

  /** The options collected so far. */
  build(): EnqueueOptions {
    return { ...this.opts };
  }

  /** Enqueues; resolves with the task id. */
  enqueue(): Promise<string> {
    return this.definition.enqueue(this.stem, this.args, this.build());
  }

  /** Enqueues, then waits for the typed result. */
  enqueueAndWait(wait?: WaitOptions): Promise<TaskResult<TResult>> {
    return this.definition.enqueueAndWait(this.stem, this.args, this.build(), wait);
  }
}
