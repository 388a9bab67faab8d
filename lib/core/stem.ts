import type { TaskArgsValidator } from './args-validator.js';
import type { Broker } from './contracts/broker.js';
import type { ResultBackend } from './contracts/result-backend.js';
import { type Envelope, isTerminalState, StemMeta, type TaskStatus } from './envelope.js';
import { ConfigurationError } from './errors/configuration.error.js';
import { StemError } from './errors/stem.error.js';
import { serializeRetryPolicy } from './retry-policy.js';
import type { TaskHandler, TaskRegistry } from './task-handler.js';
import { DEFAULT_TASK_OPTIONS, type EnqueueOptions, type TaskDefaults } from './task-options.js';
import type { TaskResult, WaitOptions } from './task-result.js';
import { type Clock, systemClock } from './utils/clock.js';
import { uuidv7 } from './utils/uuid.js';

/** Options of the {@link Stem} producer. */
export interface StemOptions {
  readonly broker: Broker;
  /** Where statuses are written and read; without it `waitForTask` and statuses are unavailable. */
  readonly backend?: ResultBackend;
  /** Known tasks: their options fill in what a call leaves unset, and their DTOs validate args. */
  readonly registry?: TaskRegistry;
  /** Module-wide defaults (lowest precedence). */
  readonly defaults?: TaskDefaults;
  /** Validates args of tasks with a DTO before publishing. */
  readonly argsValidator?: TaskArgsValidator;
  /** TTL in ms of the `queued` status. @default the backend's default */
  readonly resultTtl?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** One call of {@link Stem.enqueueMany}. */
export interface EnqueueCall {
  readonly name: string;
  readonly args?: unknown;
  readonly options?: EnqueueOptions;
}

/** Publishing to the broker failed; nothing was enqueued. */
export class PublishError extends StemError {
  constructor(readonly taskName: string, readonly queue: string, cause: unknown) {
    super('STEM_PUBLISH_FAILED', `Could not publish task "${taskName}" to queue "${queue}": ${(cause as Error)?.message ?? cause}. Check that the broker is reachable; nothing was enqueued.`, { cause });
  }
}

function validPriority(priority: number, taskName: string): number {
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw new ConfigurationError('priority', `task "${taskName}" got priority ${priority}; use an integer from 0 to 9`);
  }
  return priority;
}

/**
 * The producer: builds envelopes, validates arguments, records the `queued` status and publishes.
 *
 * @example
 * const stem = new Stem({ broker, backend, registry });
 * const id = await stem.enqueue('email.send', { to: 'a@b.c' }, { delay: 30_000 });
 * const result = await stem.waitForTask<{ delivered: boolean }>(id, { timeout: 5_000 });
 */
export class Stem {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  readonly registry?: TaskRegistry;
  private readonly defaults: TaskDefaults;
  private readonly clock: Clock;

  constructor(private readonly options: StemOptions) {
    this.broker = options.broker;
    this.backend = options.backend;
    this.registry = options.registry;
    this.defaults = options.defaults ?? {};
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Enqueues a task and resolves with its id once it is published.
   * @throws InvalidTaskArgsError when the task has a DTO and `args` fail validation
   * @throws PublishError when the broker rejects the publish
   */
  async enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}): Promise<string> {
    const envelope = this.buildEnvelope(name, args, options);
    await this.recordQueued([envelope]);
    try {
      await this.broker.publish(envelope);
    } catch (error) {
      await this.recordPublishFailure([envelope], error);
      throw new PublishError(name, envelope.queue, error);
    }
    return envelope.id;
  }

  /** Enqueues many tasks in one batch (one round trip where the broker supports it). */
  async enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]> {
    const envelopes = calls.map((c) => this.buildEnvelope(c.name, c.args ?? {}, c.options ?? {}));
    await this.recordQueued(envelopes);
    try {
      if (this.broker.publishBatch) await this.broker.publishBatch(envelopes);
      else for (const envelope of envelopes) await this.broker.publish(envelope);
    } catch (error) {
      await this.recordPublishFailure(envelopes, error);
      throw new PublishError(envelopes[0]?.name ?? 'batch', envelopes[0]?.queue ?? 'unknown', error);
    }
    return envelopes.map((e) => e.id);
  }

  /**
   * Builds (and validates) the envelope `enqueue` would publish, without publishing it.
   * Precedence: `options` > the task's registered options > module defaults.
   */
  buildEnvelope(name: string, args: unknown, options: EnqueueOptions = {}): Envelope {
    const handler: TaskHandler | undefined = this.registry?.get(name);
    if (handler && this.options.argsValidator) this.options.argsValidator.validate(handler, args);
    const task = handler?.options ?? {};
    const now = this.clock.now();
    const meta: Record<string, unknown> = { ...options.meta };
    const expires = options.expires ?? task.expires;
    if (expires !== undefined) meta[StemMeta.expiresAt] = expires instanceof Date ? expires.getTime() : now + expires;
    if (options.retryPolicy) meta[StemMeta.retryPolicy] = serializeRetryPolicy(options.retryPolicy);
    if (options.softTimeLimit !== undefined) meta[StemMeta.softTimeLimitMs] = options.softTimeLimit;
    if (options.hardTimeLimit !== undefined) meta[StemMeta.hardTimeLimitMs] = options.hardTimeLimit;
    if (options.ignoreResult !== undefined) meta[StemMeta.ignoreResult] = options.ignoreResult;
    const eta = options.eta instanceof Date ? options.eta.getTime() : options.eta;
    const notBefore = eta ?? (options.delay ? now + options.delay : undefined);
    const maxRetries = options.maxRetries ?? task.maxRetries;
    const visibilityTimeout = options.visibilityTimeout ?? task.visibilityTimeout;
    return {
      id: options.taskId ?? uuidv7(now),
      name,
      args,
      headers: { ...options.headers },
      queue: options.queue ?? task.queue ?? this.defaults.queue ?? DEFAULT_TASK_OPTIONS.queue,
      priority: validPriority(options.priority ?? task.priority ?? this.defaults.priority ?? DEFAULT_TASK_OPTIONS.priority, name),
      attempt: 0,
      enqueuedAt: now,
      meta,
      ...(maxRetries !== undefined ? { maxRetries } : {}),
      ...(notBefore !== undefined ? { notBefore } : {}),
      ...(visibilityTimeout !== undefined ? { visibilityTimeout } : {}),
    };
  }

  /** The current status of a task, or `null`. */
  async getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    return (await this.requireBackend('getTaskStatus').get(id)) as TaskStatus<TResult> | null;
  }

  /**
   * Waits until a task reaches a terminal state (`succeeded`, `failed`, `cancelled`) or the
   * timeout passes. Works across processes on shared backends: it watches the backend and polls
   * slowly as a fallback.
   */
  async waitForTask<TResult = unknown>(id: string, options: WaitOptions = {}): Promise<TaskResult<TResult>> {
    const backend = this.requireBackend('waitForTask');
    const timeout = options.timeout ?? 30_000;
    const pollInterval = options.pollInterval ?? 1_000;
    return new Promise<TaskResult<TResult>>((resolve) => {
      let latest: TaskStatus | null = null;
      let done = false;
      let watch: { close(): Promise<void> } | undefined;
      const timers: NodeJS.Timeout[] = [];
      const finish = (timedOut: boolean) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener('abort', onAbort);
        void watch?.close().catch(() => undefined);
        const status = latest as TaskStatus<TResult> | null;
        resolve({ taskId: id, status, timedOut, ...(status?.state === 'succeeded' ? { value: status.payload as TResult } : {}) });
      };
      const observe = (status: TaskStatus | null) => {
        if (done || !status) return;
        if (!latest || status.updatedAt >= latest.updatedAt) latest = status;
        if (isTerminalState(status.state)) finish(false);
      };
      const onAbort = () => finish(true);
      if (options.signal?.aborted) return finish(true);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(setTimeout(() => finish(true), timeout));
      const poll = () => {
        if (done) return;
        backend.get(id).then(observe, () => undefined).finally(() => {
          if (!done) timers.push(setTimeout(poll, pollInterval));
        });
      };
      backend
        .watch(id, observe)
        .then((w) => {
          watch = w;
          if (done) void w.close().catch(() => undefined);
        }, () => undefined)
        .finally(poll);
    });
  }

  private async recordQueued(envelopes: readonly Envelope[]): Promise<void> {
    if (!this.backend) return;
    const ttl = this.options.resultTtl;
    await Promise.all(envelopes.map((e) =>
      this.backend!.set(e.id, { state: 'queued', attempt: 0, name: e.name, queue: e.queue, meta: { ...e.meta } }, ttl !== undefined ? { ttl } : {}),
    ));
  }

  private async recordPublishFailure(envelopes: readonly Envelope[], error: unknown): Promise<void> {
    if (!this.backend) return;
    await Promise.all(envelopes.map((e) =>
      this.backend!.set(e.id, { state: 'failed', attempt: 0, error: { type: 'PublishError', message: String((error as Error)?.message ?? error), retryable: false } })
        .catch(() => undefined),
    ));
  }

  private requireBackend(method: string): ResultBackend {
    if (!this.backend) throw new ConfigurationError('backend', `${method}() needs a result backend; pass { backend } to new Stem() or set "backend" in StemModule.forRoot()`);
    return this.backend;
  }

  /** Releases nothing by itself: the broker and backend are owned by whoever created them. */
  async close(): Promise<void> {}
}
