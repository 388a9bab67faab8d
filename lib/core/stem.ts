import type { TaskArgsValidator } from './args-validator.js';
import { CanvasMeta } from './canvas/canvas.constants.js';
import type { GroupStore } from './canvas/group-store.js';
import { serializeTaskCalls } from './canvas/task-call.serializer.js';
import { type Broker, isTransactionalBroker, type ReplayOptions, type ReplayResult, requireBrokerCapability } from './contracts/broker.js';
import { isTransactionalResultBackend, type ResultBackend } from './contracts/result-backend.js';
import { UniqueMeta } from './unique/unique.constants.js';
import type { TaskDefinition } from './definitions/task-definition.js';
import { TaskEnqueueBuilder } from './definitions/task-enqueue-builder.js';
import { TaskPayloadEncoderRegistry } from './encoding/encoder-registry.js';
import { EncoderKeys } from './encoding/task-payload-encoder.js';
import { type Envelope, isTerminalState, StemMeta, type TaskStatus } from './envelope.js';
import { ConfigurationError } from './errors/configuration.error.js';
import { StemError } from './errors/stem.error.js';
import { serializeRetryPolicy } from './retry-policy.js';
import type { EnvelopeSigner } from './signing/envelope-signer.js';
import type { TaskHandler, TaskRegistry } from './task-handler.js';
import { DEFAULT_TASK_OPTIONS, type EnqueueOptions, type TaskDefaults, type TaskOptions } from './task-options.js';
import type { TaskResult, WaitOptions } from './task-result.js';
import { type Clock, systemClock } from './utils/clock.js';
import { uuidv7 } from './utils/uuid.js';
import type { UniqueTaskCoordinator } from './unique/unique-task-coordinator.js';

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
  /** Signs every published envelope (workers with a signer refuse unsigned or tampered ones). */
  readonly signer?: EnvelopeSigner;
  /** Encoders of args and results. @default json only */
  readonly encoders?: TaskPayloadEncoderRegistry;
  /** Deduplicates `unique` tasks; required to enqueue them. */
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  /** Group and chord state for `Canvas`. */
  readonly groupStore?: GroupStore;
}

/** One call of {@link Stem.enqueueMany}. */
export interface EnqueueCall {
  readonly name: string;
  readonly args?: unknown;
  readonly options?: EnqueueOptions;
  /** Options of a task this process has no handler for (typed definitions pass theirs). */
  readonly taskOptions?: TaskOptions;
}

/** Longest delay a Node timer accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Fallback poll of `waitForTask` while the backend's watch is live. */
const WATCHED_POLL_MS = 5_000;
/** Poll of `waitForTask` when the backend's watch could not be established. */
const UNWATCHED_POLL_MS = 500;

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
  /** Encoder registry used for args written and results read. */
  readonly encoders: TaskPayloadEncoderRegistry;
  readonly signer?: EnvelopeSigner;
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  readonly groupStore?: GroupStore;
  private readonly defaults: TaskDefaults;
  private readonly clock: Clock;

  constructor(private readonly options: StemOptions) {
    this.broker = options.broker;
    this.backend = options.backend;
    this.registry = options.registry;
    this.defaults = options.defaults ?? {};
    this.clock = options.clock ?? systemClock;
    this.encoders = options.encoders ?? new TaskPayloadEncoderRegistry();
    this.signer = options.signer;
    this.uniqueCoordinator = options.uniqueCoordinator;
    this.groupStore = options.groupStore;
  }

  /**
   * Enqueues a task and resolves with its id once it is published. A `unique` task that
   * duplicates one still queued or running resolves with that task's id and publishes nothing.
   * @param taskOptions options of a task this process has no handler for (typed definitions pass theirs)
   * @throws InvalidTaskArgsError when the task has a DTO and `args` fail validation
   * @throws PublishError when the broker rejects the publish
   */
  async enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Promise<string> {
    const envelope = this.buildEnvelope(name, args, options, taskOptions);
    if (options.transaction !== undefined) return this.enqueueInTransaction(envelope, options.transaction);
    const existing = await this.uniqueCoordinator?.claim(envelope, this.backend);
    if (existing) return existing;
    try {
      await this.recordQueued([envelope]);
      await this.broker.publish(envelope);
    } catch (error) {
      await this.recordPublishFailure([envelope], error);
      await this.uniqueCoordinator?.release(envelope).catch(() => undefined);
      throw new PublishError(name, envelope.queue, error);
    }
    return envelope.id;
  }

  private async enqueueInTransaction(envelope: Envelope, transaction: unknown): Promise<string> {
    if (!isTransactionalBroker(this.broker)) {
      throw new ConfigurationError('transaction', `task "${envelope.name}": the ${this.broker.name} broker cannot publish inside your transaction; use a postgres:// broker, or enqueue after COMMIT`);
    }
    if (envelope.meta[UniqueMeta.key] !== undefined) {
      throw new ConfigurationError('transaction', `task "${envelope.name}" is unique; its lock cannot follow your transaction, so enqueue it after COMMIT`);
    }
    const tx = transaction as never;
    // NOTE: a status written outside the transaction would outlive a rollback, so it is written
    // only when the backend can join the transaction; otherwise the worker writes the first one.
    if (this.backend && isTransactionalResultBackend(this.backend)) {
      const ttl = this.options.resultTtl;
      await this.backend.setWith(tx, envelope.id, { state: 'queued', attempt: 0, name: envelope.name, queue: envelope.queue, meta: { ...envelope.meta } }, ttl !== undefined ? { ttl } : {});
    }
    await this.broker.publishWith(tx, envelope);
    return envelope.id;
  }

  /**
   * A fluent, typed enqueue of a task definition.
   *
   * @example
   * const id = await stem.build(sendEmail, { to: 'a@b.c' }).priority(7).delay(5_000).enqueue();
   */
  build<TArgs, TResult>(definition: TaskDefinition<TArgs, TResult>, args: TArgs): TaskEnqueueBuilder<TArgs, TResult> {
    return new TaskEnqueueBuilder(this, definition, args);
  }

  /** Enqueues many tasks in one batch (one round trip where the broker supports it). */
  async enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]> {
    const built = calls.map((c) => this.buildEnvelope(c.name, c.args ?? {}, c.options ?? {}, c.taskOptions));
    const ids = built.map((e) => e.id);
    const envelopes: Envelope[] = [];
    for (const [i, envelope] of built.entries()) {
      const existing = await this.uniqueCoordinator?.claim(envelope, this.backend);
      if (existing) ids[i] = existing;
      else envelopes.push(envelope);
    }
    if (envelopes.length === 0) return ids;
    try {
      await this.recordQueued(envelopes);
      if (this.broker.publishBatch) await this.broker.publishBatch(envelopes);
      else for (const envelope of envelopes) await this.broker.publish(envelope);
    } catch (error) {
      await this.recordPublishFailure(envelopes, error);
      if (this.uniqueCoordinator) await Promise.all(envelopes.map((e) => this.uniqueCoordinator!.release(e).catch(() => undefined)));
      const distinct = (values: string[]) => [...new Set(values)].join(', ');
      throw new PublishError(distinct(envelopes.map((e) => e.name)), distinct(envelopes.map((e) => e.queue)), error);
    }
    return ids;
  }

  /**
   * Builds (and validates) the envelope `enqueue` would publish, without publishing it: args
   * encoded, unique key stamped and signed when configured.
   * Precedence: `options` > the task's options (`taskOptions`, else the registered handler's) > module defaults.
   */
  buildEnvelope(name: string, args: unknown, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Envelope {
    const handler: TaskHandler | undefined = this.registry?.get(name);
    if (handler && this.options.argsValidator) this.options.argsValidator.validate(handler, args);
    const task = taskOptions ?? handler?.options ?? {};
    const now = this.clock.now();
    const meta: Record<string, unknown> = { ...options.meta };
    const expires = options.expires ?? task.expires;
    if (expires !== undefined) meta[StemMeta.expiresAt] = expires instanceof Date ? expires.getTime() : now + expires;
    if (options.retryPolicy) meta[StemMeta.retryPolicy] = serializeRetryPolicy(options.retryPolicy);
    if (options.softTimeLimit !== undefined) meta[StemMeta.softTimeLimitMs] = options.softTimeLimit;
    if (options.hardTimeLimit !== undefined) meta[StemMeta.hardTimeLimitMs] = options.hardTimeLimit;
    if (options.ignoreResult !== undefined) meta[StemMeta.ignoreResult] = options.ignoreResult;
    if (options.link?.length) meta[CanvasMeta.link] = serializeTaskCalls(options.link);
    if (options.linkError?.length) meta[CanvasMeta.linkError] = serializeTaskCalls(options.linkError);
    const eta = options.eta instanceof Date ? options.eta.getTime() : options.eta;
    const notBefore = eta ?? (options.delay ? now + options.delay : undefined);
    const maxRetries = options.maxRetries ?? task.maxRetries;
    const visibilityTimeout = options.visibilityTimeout ?? task.visibilityTimeout;
    const id = options.taskId ?? uuidv7(now);
    const queue = options.queue ?? task.queue ?? this.defaults.queue ?? DEFAULT_TASK_OPTIONS.queue;
    const headers: Record<string, string> = { ...options.headers };
    // NOTE: a canvas member must run as its own task: deduplicating it against another task would
    // leave its group, chord or chain waiting for a member that never reports.
    const inCanvas = meta[CanvasMeta.groupId] !== undefined || meta[CanvasMeta.chain] !== undefined;
    if ((options.unique ?? task.unique) && !inCanvas) {
      if (!this.uniqueCoordinator) {
        throw new ConfigurationError('uniqueCoordinator', `task "${name}" is unique but this Stem has no unique coordinator; pass { uniqueCoordinator: new UniqueTaskCoordinator({ lockStore }) }`);
      }
      const key = this.uniqueCoordinator.keyFor({ task: name, queue, args, headers, meta });
      const ttl = this.uniqueCoordinator.ttlFor(options.uniqueFor ?? task.uniqueFor, visibilityTimeout);
      Object.assign(meta, this.uniqueCoordinator.stamp(key, id, ttl));
    }
    const argsEncoder = this.encoders.resolve(task.argsEncoder ?? this.encoders.argsEncoder, `argsEncoder of task "${name}"`);
    headers[EncoderKeys.argsHeader] = argsEncoder.id;
    meta[EncoderKeys.argsMeta] = argsEncoder.id;
    const envelope: Envelope = {
      id,
      name,
      args: argsEncoder.encode(args),
      headers,
      queue,
      priority: validPriority(options.priority ?? task.priority ?? this.defaults.priority ?? DEFAULT_TASK_OPTIONS.priority, name),
      attempt: 0,
      enqueuedAt: now,
      meta,
      ...(maxRetries !== undefined ? { maxRetries } : {}),
      ...(notBefore !== undefined ? { notBefore } : {}),
      ...(visibilityTimeout !== undefined ? { visibilityTimeout } : {}),
    };
    return this.signer ? this.signer.sign(envelope) : envelope;
  }

  /** The current status of a task, or `null`. */
  async getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    const status = await this.requireBackend('getTaskStatus').get(id);
    return status ? this.decodeStatus<TResult>(status) : null;
  }

  /**
   * A status with its payload decoded by the encoder named in meta `__stemResultEncoder`.
   * @throws UnknownEncoderError when this process does not know that encoder
   */
  decodeStatus<TResult = unknown>(status: TaskStatus): TaskStatus<TResult> {
    const encoderId = status.meta[EncoderKeys.resultMeta];
    if (status.payload === undefined || typeof encoderId !== 'string') return status as TaskStatus<TResult>;
    const payload = this.encoders.decode(status.payload, encoderId, `result of task "${status.name ?? status.id}"`) as TResult;
    return { ...status, payload };
  }

  /**
   * Waits until a task reaches a terminal state (`succeeded`, `failed`, `cancelled`) or the
   * timeout passes. Works across processes on shared backends: it watches the backend and polls
   * slowly as a fallback.
   */
  async waitForTask<TResult = unknown>(id: string, options: WaitOptions = {}): Promise<TaskResult<TResult>> {
    const backend = this.requireBackend('waitForTask');
    const timeout = Math.min(options.timeout ?? 30_000, MAX_TIMER_MS);
    return new Promise<TaskResult<TResult>>((resolve, reject) => {
      let latest: TaskStatus | null = null;
      let done = false;
      let watch: { close(): Promise<void> } | undefined;
      let pollTimer: NodeJS.Timeout | undefined;
      const finish = (timedOut: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timeoutTimer);
        clearTimeout(pollTimer);
        options.signal?.removeEventListener('abort', onAbort);
        void watch?.close().catch(() => undefined);
        let status: TaskStatus<TResult> | null;
        try {
          status = latest ? this.decodeStatus<TResult>(latest) : null;
        } catch (error) {
          return reject(error);
        }
        resolve({ taskId: id, status, timedOut, ...(status?.state === 'succeeded' ? { value: status.payload as TResult } : {}) });
      };
      const observe = (status: TaskStatus | null) => {
        if (done || !status) return;
        if (!latest || status.updatedAt >= latest.updatedAt) latest = status;
        if (isTerminalState(status.state)) finish(false);
      };
      const onAbort = () => finish(true);
      const timeoutTimer = setTimeout(() => finish(true), timeout);
      if (options.signal?.aborted) return finish(true);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // NOTE: the watch delivers updates; the poll only covers a watch that could not be set up
      // or a notification lost while reconnecting, so it runs rarely once the watch is live.
      const poll = (interval: number) => {
        if (done) return;
        backend.get(id).then(observe, () => undefined).finally(() => {
          if (!done) pollTimer = setTimeout(() => poll(interval), interval);
        });
      };
      backend
        .watch(id, observe)
        .then((w) => {
          watch = w;
          if (done) void w.close().catch(() => undefined);
          poll(options.pollInterval ?? WATCHED_POLL_MS);
        }, () => poll(options.pollInterval ?? UNWATCHED_POLL_MS));
    });
  }

  /**
   * Replays dead letters of a queue: each is re-signed (when this producer signs), recorded
   * `queued` again, and published with `attempt + 1`. Prefer it over `broker.replayDeadLetters`,
   * which neither re-signs nor resets statuses.
   */
  async replayDeadLetters(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const signer = this.signer;
    const result = await requireBrokerCapability(this.broker, 'dead-letter-admin', `replay dead letters of queue "${queue}"`).replayDeadLetters(queue, {
      ...options,
      ...(signer?.canSign ? { transform: (envelope: Envelope) => signer.sign(envelope) } : {}),
    });
    if (!result.dryRun && this.backend) {
      const ttl = this.options.resultTtl;
      await Promise.all(result.entries.map(({ envelope: e }) =>
        this.backend!.set(e.id, { state: 'queued', attempt: e.attempt + 1, name: e.name, queue: e.queue, meta: { [StemMeta.replayedFrom]: 'dead-letters' } }, ttl !== undefined ? { ttl } : {}),
      ));
    }
    return result;
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
    await Promise.all(envelopes.map((e) => {
      // NOTE: a canvas follow-up (chord callback, next chain step, link) is published again when
      // the worker's delivery is redelivered, so its status says "retried", not a final "failed"
      // that would end every wait on it.
      const followUp = e.meta[CanvasMeta.chordResults] !== undefined || e.meta[CanvasMeta.parentResult] !== undefined || e.meta[CanvasMeta.parentError] !== undefined;
      const message = String((error as Error)?.message ?? error);
      return this.backend!.set(e.id, { state: followUp ? 'retried' : 'failed', attempt: 0, error: { type: 'PublishError', message, retryable: followUp } })
        .catch(() => undefined);
    }));
  }

  private requireBackend(method: string): ResultBackend {
    if (!this.backend) throw new ConfigurationError('backend', `${method}() needs a result backend; pass { backend } to new Stem() or set "backend" in StemModule.forRoot()`);
    return this.backend;
  }

  /** Releases nothing by itself: the broker and backend are owned by whoever created them. */
  async close(): Promise<void> {}
}
