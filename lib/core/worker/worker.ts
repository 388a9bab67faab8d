import { hostname } from 'node:os';
import type { TaskArgsValidator } from '../args-validator.js';
import { CanvasCoordinator } from '../canvas/canvas.worker-hook.js';
import type { Broker, Consumer, Delivery } from '../contracts/broker.js';
import type { RateLimit, RateLimiter } from '../contracts/rate-limiter.js';
import type { ResultBackend, TaskStatusUpdate } from '../contracts/result-backend.js';
import { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { type Envelope, StemMeta, type TaskError } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { InvalidTaskArgsError } from '../errors/invalid-task-args.error.js';
import { LeaseLostError } from '../errors/lease-lost.error.js';
import { ResultNotStorableError } from '../errors/result-not-storable.error.js';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import { SignatureInvalidError } from '../errors/signature-invalid.error.js';
import { TaskRetryRequest } from '../errors/task-retry-request.error.js';
import { TimeLimitExceededError } from '../errors/time-limit-exceeded.error.js';
import { UnknownTaskError } from '../errors/unknown-task.error.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { parseRateLimit } from '../rate-limit.js';
import { computeBackoff, isRetryableError, mergeRetryPolicies } from '../retry-policy.js';
import { Stem } from '../stem.js';
import type { TaskHandler, TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type RetryPolicy, type TaskDefaults } from '../task-options.js';
import { type Clock, systemClock, type TimerHandle } from '../utils/clock.js';
import { TypedEmitter } from '../utils/typed-emitter.js';
import { uuidv7 } from '../utils/uuid.js';
import { InMemoryRateLimiterFallback } from './fallback-rate-limiter.js';
import { type TaskContextHost, WorkerTaskContext } from './worker-task-context.js';
import type { WorkerEvents } from './worker.events.js';
import type { ShutdownMode, TerminalTaskOutcome, WorkerOptions } from './worker.options.js';

/**
 * An abort switch whose `AbortSignal` is only created when a task asks for it: most tasks never
 * read `ctx.signal`, and creating a signal per task showed up in profiles.
 */
class LazyAbort {
  private controller?: AbortController;
  private abortedWith?: { reason: unknown };

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortedWith && !this.controller.signal.aborted) this.controller.abort(this.abortedWith.reason);
    return this.controller.signal;
  }

  /** The abort reason, once aborted. */
  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/** One delivery the worker holds, waiting or running. */
interface Job {
  readonly delivery: Delivery;
  readonly handler: TaskHandler | undefined;
  leaseMs: number;
  readonly controller: LazyAbort;
  /** Epoch ms at which the lease sweep renews this delivery's lease. */
  renewAt: number;
  /** Settled or handed back: the lease is no longer renewed. */
  released?: boolean;
  /** A renewal is in flight. */
  renewing?: boolean;
  /** Requeued by a hard shutdown: whatever the handler does later is ignored. */
  abandoned: boolean;
  /** The terminal status is written; a hard shutdown lets it finish instead of requeueing it. */
  finishing?: boolean;
}

/** Counters of a worker since it started. */
export interface WorkerStats {
  readonly id: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  /** Tasks running now. */
  readonly active: number;
  /** Deliveries fetched and waiting for a slot. */
  readonly buffered: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
}

/** Granularity of the lease-renewal sweep. */
const LEASE_SWEEP_MS = 100;

/** How long a hard shutdown waits for tasks whose result is stored to ack. */
const FINISHING_GRACE_MS = 5_000;

/** Requeue delay after a store error, so a flapping backend is not hammered. */
const STORE_ERROR_REQUEUE_DELAY_MS = 1_000;

/** JSON.stringify's errors for values it cannot encode (BigInt, circular structures). */
function isSerializationError(error: unknown): boolean {
  return error instanceof TypeError && /BigInt|circular|serialize|Converting/i.test(error.message);
}

function toTaskError(error: unknown, retryable: boolean, meta?: Record<string, unknown>): TaskError {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    type: e.name || e.constructor?.name || 'Error',
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    retryable,
    ...(meta ? { meta } : e instanceof InvalidTaskArgsError ? { meta: { violations: e.violations } } : {}),
  };
}

/**
 * Consumes queues and runs tasks: leases with auto-renewal, retries with backoff, dead letters,
 * rate limits, time limits, a hard concurrency cap, and warm/soft/hard shutdown.
 *
 * @example
 * const worker = new Worker({ broker, backend, registry, queues: ['emails'], concurrency: 8 });
 * worker.events.on('task:failed', (env, err) => log.error(env.name, err.message));
 * await worker.start();
 * // ...
 * await worker.close(); // warm: waits for running tasks
 */
export class Worker implements TaskContextHost {
  /** Typed lifecycle and task events. */
  readonly events = new TypedEmitter<WorkerEvents>();
  readonly id: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  private readonly prefetch: number;
  private readonly broker: Broker;
  private readonly backend?: ResultBackend;
  private readonly registry: TaskRegistry;
  private readonly defaults: TaskDefaults;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly argsValidator?: TaskArgsValidator;
  private readonly producer: Stem;
  private readonly encoders: TaskPayloadEncoderRegistry;
  private readonly canvas: CanvasCoordinator;
  private readonly rateLimits = new Map<string, RateLimit | null>();
  private consumer?: Consumer;
  private loop?: Promise<void>;
  private readonly fetchAbort = new AbortController();
  private readonly buffer: Job[] = [];
  private readonly running = new Set<Job>();
  /** Acks sent but not yet confirmed; `close()` waits for them. */
  private readonly settling = new Set<Promise<void>>();
  private slotWaiter?: () => void;
  private leaseSweep?: TimerHandle;
  private drainWaiters: (() => void)[] = [];
  private closing?: Promise<void>;
  private stopping = false;
  private counters = { succeeded: 0, failed: 0, retried: 0 };

  constructor(private readonly options: WorkerOptions) {
    if (options.signer && !options.signer.canSign) {
      throw new ConfigurationError('signing', 'the worker has only verify keys; workers re-sign retries, rate-limit delays and child tasks, so give them the signing key too (STEM_SIGNING_KEYS, or STEM_SIGNING_PRIVATE_KEYS for Ed25519)');
    }
    this.broker = options.broker;
    this.backend = options.backend;
    this.registry = options.registry;
    this.defaults = options.defaults ?? {};
    this.clock = options.clock ?? systemClock;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? this.concurrency));
    this.id = options.id ?? `stem-worker-${hostname()}-${process.pid}-${uuidv7().slice(-6)}`;
    this.queues = options.queues?.length ? [...options.queues] : this.inferQueues();
    this.rateLimiter = options.rateLimiter ?? new InMemoryRateLimiterFallback(this.clock);
    this.argsValidator = options.argsValidator;
    this.encoders = options.encoders ?? options.producer?.encoders ?? new TaskPayloadEncoderRegistry();
    this.producer = options.producer ?? new Stem({
      broker: this.broker,
      backend: this.backend,
      registry: this.registry,
      defaults: this.defaults,
      argsValidator: this.argsValidator,
      clock: this.clock,
      encoders: this.encoders,
      ...(options.signer ? { signer: options.signer } : {}),
      ...(options.uniqueCoordinator ? { uniqueCoordinator: options.uniqueCoordinator } : {}),
      ...(options.groupStore ? { groupStore: options.groupStore } : {}),
    });
    this.canvas = new CanvasCoordinator(this.producer, options.groupStore ?? this.producer.groupStore);
  }

  /** Subscribes to the queues and starts taking work. Idempotent. */
  async start(): Promise<void> {
    if (this.consumer) return;
    if (this.closing) throw new Error(`Worker ${this.id} was closed; create a new one`);
    for (const handler of this.registry.list()) this.rateLimitOf(handler);
    this.consumer = this.broker.consume({
      queues: this.queues,
      consumerName: this.id,
      defaultVisibilityTimeout: this.defaults.visibilityTimeout ?? DEFAULT_TASK_OPTIONS.visibilityTimeout,
    });
    this.loop = this.fetchLoop();
    this.events.emit('worker:ready', { id: this.id, queues: this.queues, concurrency: this.concurrency });
  }

  /** Current counters. */
  stats(): WorkerStats {
    return {
      id: this.id,
      queues: this.queues,
      concurrency: this.concurrency,
      active: this.running.size,
      buffered: this.buffer.length,
      ...this.counters,
    };
  }

  /**
   * Stops the worker. Idempotent: later calls return the same promise.
   * - `warm` (default): stop fetching, requeue prefetched deliveries, wait for running tasks.
   * - `soft`: also abort every running task's `ctx.signal`, wait up to the grace period, then hard.
   * - `hard`: requeue running deliveries at once; their outcome is ignored.
   */
  close(options: { mode?: ShutdownMode; gracePeriod?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.mode ?? 'warm', options.gracePeriod ?? this.options.softShutdownGracePeriod ?? 30_000);
    return this.closing;
  }

  private async shutdown(mode: ShutdownMode, gracePeriod: number): Promise<void> {
    this.stopping = true;
    this.fetchAbort.abort();
    this.slotWaiter?.();
    const steps: (() => Promise<unknown>)[] = [
      async () => this.loop,
      async () => Promise.all(this.buffer.splice(0).map((job) => this.requeue(job))),
      async () => {
        if (mode === 'hard') {
          await this.abandonRunning();
          // NOTE: only tasks whose result is already stored are left; let them ack.
          return this.waitForDrain(FINISHING_GRACE_MS);
        }
        if (mode === 'soft') {
          for (const job of this.running) job.controller.abort(new WorkerShutdownError(this.id, 'soft'));
          const drained = await this.waitForDrain(gracePeriod);
          if (!drained) {
            await this.abandonRunning();
            await this.waitForDrain(FINISHING_GRACE_MS);
          }
          return;
        }
        await this.waitForDrain(Infinity);
      },
      async () => Promise.all([...this.settling]),
      async () => this.consumer?.close(),
      async () => {
        this.leaseSweep?.cancel();
        this.leaseSweep = undefined;
      },
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.events.emit('worker:error', error);
      }
    }
    this.events.emit('worker:closed');
  }

  private async abandonRunning(): Promise<void> {
    const jobs = [...this.running].filter((job) => !job.finishing);
    for (const job of jobs) {
      job.abandoned = true;
      job.controller.abort(new WorkerShutdownError(this.id, 'hard'));
      this.running.delete(job);
    }
    await Promise.all(jobs.map((job) => this.requeue(job)));
    this.notifyDrain();
  }

  private async requeue(job: Job): Promise<void> {
    job.released = true;
    await this.broker.nack(job.delivery, { requeue: true });
  }

  private waitForDrain(timeout: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeout) ? this.clock.setTimeout(() => resolve(false), timeout) : undefined;
      this.drainWaiters.push(() => {
        timer?.cancel();
        resolve(true);
      });
    });
  }

  private notifyDrain(): void {
    if (this.running.size > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const room = this.concurrency + this.prefetch - this.running.size - this.buffer.length;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = undefined;
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.consumer!.fetch(room, this.fetchAbort.signal);
        failures = 0;
      } catch (error) {
        this.events.emit('worker:error', error);
        failures++;
        await new Promise<void>((resolve) => {
          const signal = this.fetchAbort.signal;
          const onAbort = () => {
            t.cancel();
            resolve();
          };
          const t = this.clock.setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
          signal.addEventListener('abort', onAbort, { once: true });
        });
        continue;
      }
      for (const delivery of deliveries) {
        if (this.stopping) {
          await this.broker.nack(delivery, { requeue: true }).catch((e) => this.events.emit('worker:error', e));
          continue;
        }
        const handler = this.registry.get(delivery.envelope.name);
        const job: Job = {
          delivery,
          handler,
          leaseMs: delivery.envelope.visibilityTimeout ?? handler?.options?.visibilityTimeout ?? this.defaults.visibilityTimeout ?? DEFAULT_TASK_OPTIONS.visibilityTimeout,
          controller: new LazyAbort(),
          renewAt: this.renewAtFor(delivery, delivery.envelope.visibilityTimeout ?? handler?.options?.visibilityTimeout ?? this.defaults.visibilityTimeout ?? DEFAULT_TASK_OPTIONS.visibilityTimeout),
          abandoned: false,
        };
        this.buffer.push(job);
        this.armLeaseSweep();
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency && this.buffer.length > 0 && !this.stopping) {
      const job = this.buffer.shift()!;
      this.running.add(job);
      void this.process(job)
        .catch((error) => this.recoverFromError(job, error))
        .finally(() => this.release(job));
    }
  }

  /**
   * A store failed while a delivery was being processed (backend or broker unreachable). The
   * delivery is requeued shortly rather than left to its lease, and runs again (at least once).
   */
  private async recoverFromError(job: Job, error: unknown): Promise<void> {
    this.events.emit('worker:error', error);
    if (job.abandoned) return;
    job.released = true;
    const env = job.delivery.envelope;
    await this.broker
      .nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, notBefore: this.clock.now() + STORE_ERROR_REQUEUE_DELAY_MS }) })
      .catch((nackError) => this.events.emit('worker:error', nackError));
  }

  private release(job: Job): void {
    job.released = true;
    if (!this.running.delete(job)) return;
    this.dispatch();
    this.slotWaiter?.();
    this.notifyDrain();
  }

  /** When to renew: halfway through what is left of the lease (at least 50 ms from now). */
  private renewAtFor(delivery: Delivery, leaseMs: number): number {
    const now = this.clock.now();
    const remaining = delivery.leaseExpiresAt - now;
    return now + Math.min(30_000, Math.max(50, Math.floor(Math.min(remaining, leaseMs) / 2)));
  }

  /**
   * One timer renews every held lease that is due, instead of a timer per delivery. It runs only
   * while the worker holds deliveries.
   */
  private armLeaseSweep(): void {
    if (this.leaseSweep || (this.running.size === 0 && this.buffer.length === 0)) return;
    this.leaseSweep = this.clock.setTimeout(() => {
      this.leaseSweep = undefined;
      this.sweepLeases();
      this.armLeaseSweep();
    }, LEASE_SWEEP_MS);
  }

  private sweepLeases(): void {
    const horizon = this.clock.now() + LEASE_SWEEP_MS / 2;
    for (const job of [...this.buffer, ...this.running]) {
      if (job.released || job.abandoned || job.renewing || job.renewAt > horizon) continue;
      job.renewing = true;
      this.renew(job.delivery, job.leaseMs)
        .then(
          () => {
            job.renewAt = this.renewAtFor(job.delivery, job.leaseMs);
          },
          (error) => {
            if (error instanceof LeaseLostError) {
              // NOTE: another worker may run this delivery now; stop this copy and write nothing.
              job.abandoned = true;
              job.controller.abort(error);
              this.events.emit('task:lease-lost', job.delivery.envelope, error);
            } else {
              this.events.emit('worker:error', error);
            }
          },
        )
        .finally(() => {
          job.renewing = false;
        });
    }
  }

  private async renew(delivery: Delivery, ms: number): Promise<void> {
    await this.broker.extendLease(delivery, ms);
    this.events.emit('task:lease-renewed', delivery);
  }

  private async process(job: Job): Promise<void> {
    const { delivery, handler } = job;
    const env = delivery.envelope;
    // NOTE: a prefetched delivery whose lease was lost while it waited belongs to another worker now.
    if (job.abandoned) return;
    this.events.emit('task:received', env);
    const signature = this.options.signer?.verify(env);
    if (signature && !signature.valid) {
      const error = new SignatureInvalidError(env.name, env.id, signature.reason, signature.keyId);
      return this.deadLetter(job, 'signature-invalid', toTaskError(error, false, { keyId: signature.keyId ?? null }), 'failed', false);
    }
    if (!handler) {
      const error = new UnknownTaskError(env.name, this.registry.list().map((h) => h.name));
      return this.deadLetter(job, 'unregistered-task', toTaskError(error, false), 'failed');
    }
    const expiresAt = (env.meta[StemMeta.expiresAt] as number | undefined) ??
      (handler.options?.expires !== undefined ? env.enqueuedAt + handler.options.expires : undefined);
    if (expiresAt !== undefined && this.clock.now() >= expiresAt) {
      this.events.emit('task:expired', env);
      const error: TaskError = { type: 'TaskExpired', message: `Task "${env.name}" expired at ${new Date(expiresAt).toISOString()} before it ran`, retryable: false };
      return this.deadLetter(job, 'expired', error, 'cancelled');
    }
    let args: unknown;
    try {
      args = this.encoders.decode(env.args, env.headers[EncoderKeys.argsHeader], `args of task "${env.name}"`);
      if (this.argsValidator) args = this.argsValidator.validate(handler, args);
    } catch (error) {
      return this.deadLetter(job, 'invalid-args', toTaskError(error, false), 'failed');
    }
    const limit = this.rateLimitOf(handler);
    if (limit) {
      const decision = await this.rateLimiter.acquire(`stem:rate:${env.name}`, limit);
      if (!decision.allowed) return this.rateLimited(job, decision.retryAfter, limit.interval);
    }
    // NOTE: the handler starts while the `running` write is in flight; backends apply one task's
    // writes in call order, so later writes need not wait for it, only the ack does.
    const running = this.writeStatus(env, { state: 'running', attempt: env.attempt });
    running.catch(() => undefined);
    this.events.emit('task:started', env);
    const started = this.clock.now();
    const maxRetries = env.maxRetries ?? handler.options?.maxRetries ?? this.defaults.maxRetries ?? DEFAULT_TASK_OPTIONS.maxRetries;
    const ctx = new WorkerTaskContext(delivery, maxRetries, () => job.controller.signal, this);
    if (job.abandoned) return;
    let result: unknown;
    try {
      result = await this.runWithLimits(job, handler, ctx, args);
    } catch (error) {
      if (job.abandoned) return;
      await running;
      if (job.controller.reason instanceof WorkerShutdownError) return this.requeueForShutdown(job);
      return this.handleFailure(job, handler, error, maxRetries);
    }
    if (job.abandoned) return;
    const ignore = (env.meta[StemMeta.ignoreResult] as boolean | undefined) ?? handler.options?.ignoreResult ?? this.defaults.ignoreResult ?? false;
    let payload: unknown;
    let resultEncoder: string;
    try {
      const encoder = this.encoders.resolve(handler.options?.resultEncoder ?? this.encoders.resultEncoder, `resultEncoder of task "${env.name}"`);
      resultEncoder = encoder.id;
      payload = ignore ? undefined : encoder.encode(result);
    } catch (error) {
      return this.deadLetter(job, 'result-not-storable', toTaskError(new ResultNotStorableError(env.name, error), false), 'failed');
    }
    try {
      // NOTE: backends apply one task's writes in call order, so `succeeded` is sent without
      // waiting for `running` to be confirmed; both must be stored before the ack.
      const succeeded = this.writeStatus(env, { state: 'succeeded', attempt: env.attempt, ...(ignore ? {} : { payload }), meta: { [EncoderKeys.resultMeta]: resultEncoder } });
      await Promise.all([running, succeeded]);
    } catch (error) {
      if (!isSerializationError(error)) throw error;
      return this.deadLetter(job, 'result-not-storable', toTaskError(new ResultNotStorableError(env.name, error), false), 'failed');
    }
    if (job.abandoned) return;
    job.finishing = true;
    await this.afterTerminal({ envelope: env, state: 'succeeded', result, ...(ignore ? {} : { payload }), resultEncoder }, true);
    job.released = true;
    // NOTE: the result is stored; the slot is freed without waiting for the ack. A lost ack only
    // means a redelivery of a task whose result is already recorded, and close() waits for acks.
    this.track(this.broker.ack(delivery));
    this.counters.succeeded++;
    this.events.emit('task:succeeded', env, result, this.clock.now() - started);
  }

  private track(settle: Promise<void>): void {
    const tracked = settle.catch((error) => this.events.emit('worker:error', error)).finally(() => this.settling.delete(tracked));
    this.settling.add(tracked);
  }

  private runWithLimits(job: Job, handler: TaskHandler, ctx: WorkerTaskContext, args: unknown): Promise<unknown> {
    const env = job.delivery.envelope;
    const soft = (env.meta[StemMeta.softTimeLimitMs] as number | undefined) ?? handler.options?.softTimeLimit ?? this.defaults.softTimeLimit;
    const hard = (env.meta[StemMeta.hardTimeLimitMs] as number | undefined) ?? handler.options?.hardTimeLimit ?? this.defaults.hardTimeLimit;
    const call = (async () => handler.call(ctx, args))();
    if (soft === undefined && hard === undefined) return call;
    const timers: TimerHandle[] = [];
    if (soft !== undefined) {
      timers.push(this.clock.setTimeout(() => {
        this.events.emit('task:soft-timeout', env);
        job.controller.abort(new Error(`Task "${env.name}" passed its soft time limit of ${soft} ms`));
      }, soft));
    }
    const racers: Promise<unknown>[] = [call];
    if (hard !== undefined) {
      racers.push(new Promise((_, reject) => {
        timers.push(this.clock.setTimeout(() => {
          const error = new TimeLimitExceededError(env.name, hard);
          job.controller.abort(error);
          reject(error);
        }, hard));
      }));
      // NOTE: the abandoned handler promise may still reject later; keep it from becoming unhandled.
      call.catch(() => undefined);
    }
    return Promise.race(racers).finally(() => timers.forEach((t) => t.cancel()));
  }

  private async handleFailure(job: Job, handler: TaskHandler, error: unknown, maxRetries: number): Promise<void> {
    const env = job.delivery.envelope;
    if (error instanceof InvalidTaskArgsError) return this.deadLetter(job, 'invalid-args', toTaskError(error, false), 'failed');
    if (error instanceof UnrecoverableError) return this.deadLetter(job, 'unrecoverable', toTaskError(error, false), 'failed');
    const policy = mergeRetryPolicies(this.defaults.retryPolicy, handler.options?.retryPolicy, env.meta[StemMeta.retryPolicy] as RetryPolicy | undefined);
    const requested = error instanceof TaskRetryRequest;
    const allowed = requested || isRetryableError(policy, error);
    if (allowed && env.attempt < maxRetries) {
      const delay = (requested ? error.countdown : undefined) ?? computeBackoff(policy, env.attempt);
      const taskError = toTaskError(error, true);
      await this.writeStatus(env, { state: 'retried', attempt: env.attempt, error: taskError, meta: { [StemMeta.retryDelayMs]: delay } });
      job.released = true;
      await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, attempt: env.attempt + 1, notBefore: this.clock.now() + delay }) });
      this.counters.retried++;
      this.events.emit('task:retried', env, taskError, delay);
      return;
    }
    const reason = allowed ? 'max-retries-exhausted' : 'not-retryable';
    return this.deadLetter(job, reason, toTaskError(error, false), 'failed');
  }

  /** A soft or hard shutdown stopped the task: put it back as it was, without using an attempt. */
  private async requeueForShutdown(job: Job): Promise<void> {
    const env = job.delivery.envelope;
    job.released = true;
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt });
    await this.broker.nack(job.delivery, { requeue: true });
  }

  private async rateLimited(job: Job, retryAfter: number, interval: number): Promise<void> {
    const env = job.delivery.envelope;
    // NOTE: spread the retries of a backlog over one interval, so they do not all come back at
    // the same instant and get denied together again.
    const until = this.clock.now() + retryAfter + Math.floor(Math.random() * interval);
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt, meta: { [StemMeta.rateLimitedUntil]: until } });
    job.released = true;
    await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, notBefore: until }) });
    this.events.emit('task:rate-limited', env, retryAfter);
  }

  /** @param trusted false for envelopes whose content cannot be trusted: no follow-ups run for them */
  private async deadLetter(job: Job, reason: string, error: TaskError, state: 'failed' | 'cancelled', trusted = true): Promise<void> {
    const env = job.delivery.envelope;
    // NOTE: the dead letter is written before the terminal status, so whoever sees `failed` can
    // already find the dead letter; a crash in between leaves the envelope safe in the DLQ.
    job.released = true;
    await this.broker.deadLetter(job.delivery, reason, { error });
    const recorded: TaskError = { ...error, meta: { ...error.meta, [StemMeta.deadLetterReason]: reason } };
    await this.writeStatus(env, { state, attempt: env.attempt, error: recorded });
    if (trusted) await this.afterTerminal({ envelope: env, state, error: recorded });
    if (state === 'failed') {
      this.counters.failed++;
      this.events.emit('task:failed', env, error);
    }
    this.events.emit('task:dead-lettered', env, reason);
  }

  /** Re-signs an envelope the worker changed (retry, rate-limit delay), so it still verifies. */
  private resign(envelope: Envelope): Envelope {
    return this.options.signer?.canSign ? this.options.signer.sign(envelope) : envelope;
  }

  /** Canvas follow-ups, unique lock release and user hooks; none of them can fail the task. */
  /**
   * Follow-ups of a terminal outcome: canvas (group results, chords, chains, links), the unique
   * lock, user hooks. A canvas failure is rethrown when `rethrowCanvas` is set, so a succeeded
   * delivery is requeued instead of acked and its follow-ups are tried again (they are
   * idempotent); the other steps only report errors.
   */
  private async afterTerminal(outcome: TerminalTaskOutcome, rethrowCanvas = false): Promise<void> {
    let canvasError: unknown;
    try {
      await this.canvas.onTerminal(outcome);
    } catch (error) {
      this.events.emit('worker:error', error);
      canvasError = error ?? new Error('canvas follow-up failed');
    }
    if (canvasError !== undefined && rethrowCanvas) throw canvasError;
    const steps: (() => Promise<unknown> | unknown)[] = [
      () => this.options.uniqueCoordinator?.release(outcome.envelope),
      ...(this.options.onTerminal ?? []).map((hook) => () => hook(outcome)),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.events.emit('worker:error', error);
      }
    }
  }

  private async writeStatus(env: Envelope, update: Omit<TaskStatusUpdate, 'name' | 'queue'>): Promise<void> {
    if (!this.backend) return;
    const ttl = this.options.resultTtl;
    await this.backend.set(env.id, { ...update, name: env.name, queue: env.queue }, ttl !== undefined ? { ttl } : undefined);
  }

  private rateLimitOf(handler: TaskHandler): RateLimit | null {
    let limit = this.rateLimits.get(handler.name);
    if (limit === undefined) {
      limit = handler.options?.rateLimit ? parseRateLimit(handler.options.rateLimit, handler.name) : null;
      this.rateLimits.set(handler.name, limit);
    }
    return limit;
  }

  private inferQueues(): string[] {
    const fallback = this.defaults.queue ?? DEFAULT_TASK_OPTIONS.queue;
    const queues = new Set(this.registry.list().map((h) => h.options?.queue ?? fallback));
    if (queues.size === 0) queues.add(fallback);
    return [...queues];
  }

  /** @internal TaskContextHost */
  async heartbeat(delivery: Delivery): Promise<void> {
    const job = this.jobOf(delivery);
    await this.backend?.touch(delivery.envelope.id, { heartbeatAt: this.clock.now() });
    if (job) await this.renew(delivery, job.leaseMs);
    this.events.emit('task:heartbeat', delivery.envelope);
  }

  /** @internal TaskContextHost */
  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    await this.renew(delivery, ms);
    const job = this.jobOf(delivery);
    if (job) {
      job.leaseMs = ms;
      job.renewAt = this.renewAtFor(delivery, ms);
    }
  }

  /** @internal TaskContextHost */
  async progress(delivery: Delivery, percent: number, data: unknown): Promise<void> {
    await this.backend?.touch(delivery.envelope.id, { progress: { percent, data, updatedAt: this.clock.now() } });
    this.events.emit('task:progress', delivery.envelope, percent, data);
  }

  /** @internal TaskContextHost */
  enqueue(name: string, args: unknown, options: Parameters<Stem['enqueue']>[2]): Promise<string> {
    return this.producer.enqueue(name, args, options);
  }

  private jobOf(delivery: Delivery): Job | undefined {
    for (const job of this.running) if (job.delivery === delivery) return job;
    return undefined;
  }
}
