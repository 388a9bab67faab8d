import type { Broker } from '../contracts/broker.js';
import type { ResultBackend, TaskStatusUpdate } from '../contracts/result-backend.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { type Envelope, StemMeta, type TaskError } from '../envelope.js';
import { InvalidTaskArgsError } from '../errors/invalid-task-args.error.js';
import { ResultNotStorableError } from '../errors/result-not-storable.error.js';
import { TaskRetryRequest } from '../errors/task-retry-request.error.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { computeBackoff, isRetryableError, mergeRetryPolicies } from '../retry-policy.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { TaskHandler } from '../task-handler.js';
import type { RetryPolicy, TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { TypedEmitter } from '../utils/typed-emitter.js';
import type { ExtensionChain } from './extension-chain.js';
import { isAbandoned, type Job, markReleased } from './job.js';
import { isSerializationError, toTaskError } from './task-error.util.js';
import type { TerminalTaskOutcome } from './task-outcome.js';
import type { WorkerEvents } from './worker.events.js';

/** Requeue delay after a store error, so a flapping backend is not hammered. */
const STORE_ERROR_REQUEUE_DELAY_MS = 1_000;

/** What settlement needs from its worker. */
export interface SettlementOptions {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  readonly clock: Clock;
  readonly events: TypedEmitter<WorkerEvents>;
  readonly extensions: ExtensionChain;
  readonly defaults: TaskDefaults;
  readonly signer?: EnvelopeSigner;
  /** TTL in ms of the statuses written. */
  readonly resultTtl?: number;
}

/** Counters of settled tasks. */
export interface SettlementCounters {
  succeeded: number;
  failed: number;
  retried: number;
}

/**
 * Ends a delivery: writes its status and then acks it, retries it under the same id with backoff,
 * dead-letters it with a reason, or hands it back (rate limit, delay, shutdown, store error).
 * The terminal status is always written before the ack, and extensions' `onSettled` runs in
 * between.
 */
export class Settlement {
  /** Tasks settled since the worker started. */
  readonly counters: SettlementCounters = { succeeded: 0, failed: 0, retried: 0 };
  private readonly broker: Broker;
  private readonly backend?: ResultBackend;
  private readonly clock: Clock;
  private readonly events: TypedEmitter<WorkerEvents>;
  private readonly extensions: ExtensionChain;
  /** Acks sent but not yet confirmed; `flush()` waits for them. */
  private readonly settling = new Set<Promise<void>>();

  constructor(private readonly options: SettlementOptions) {
    this.broker = options.broker;
    this.backend = options.backend;
    this.clock = options.clock;
    this.events = options.events;
    this.extensions = options.extensions;
  }

  /** Writes a status of the task (no-op without a backend). */
  async writeStatus(env: Envelope, update: Omit<TaskStatusUpdate, 'name' | 'queue'>): Promise<void> {
    if (!this.backend) return;
    const ttl = this.options.resultTtl;
    await this.backend.set(env.id, { ...update, name: env.name, queue: env.queue }, ttl !== undefined ? { ttl } : undefined);
  }

  /**
   * Stores a success (with `running`, the `running` write still in flight), runs the extensions,
   * then acks. A result the backend cannot store is dead-lettered `result-not-storable`.
   */
  async succeed(job: Job, outcome: TerminalTaskOutcome, running: Promise<void>, startedAt: number): Promise<void> {
    const env = job.delivery.envelope;
    try {
      // NOTE: backends apply one task's writes in call order, so `succeeded` is sent without
      // waiting for `running` to be confirmed; both must be stored before the ack.
      const succeeded = this.writeStatus(env, { state: 'succeeded', attempt: env.attempt, ...('payload' in outcome ? { payload: outcome.payload } : {}), meta: { [EncoderKeys.resultMeta]: outcome.resultEncoder } });
      await Promise.all([running, succeeded]);
    } catch (error) {
      if (!isSerializationError(error)) throw error;
      return this.deadLetter(job, 'result-not-storable', toTaskError(new ResultNotStorableError(env.name, error), false), 'failed');
    }
    if (isAbandoned(job)) return;
    job.state = 'finishing';
    const followUps = this.extensions.settle(outcome, true);
    if (followUps) await followUps;
    // NOTE: the job stays `finishing` until it leaves the worker (a few microtasks): a hard
    // shutdown must not requeue it now that it is acked. The result is stored; the slot is freed
    // without waiting for the ack. A lost ack only means a redelivery of a task whose result is
    // already recorded, and close() waits for acks.
    this.track(this.broker.ack(job.delivery));
    this.counters.succeeded++;
    this.events.emit('task:succeeded', env, outcome.result, this.clock.now() - startedAt);
  }

  /** The attempt failed: retry under the same id while the policy allows it, else dead-letter it. */
  async fail(job: Job, handler: TaskHandler, error: unknown, maxRetries: number): Promise<void> {
    const env = job.delivery.envelope;
    if (error instanceof InvalidTaskArgsError) return this.deadLetter(job, 'invalid-args', toTaskError(error, false), 'failed');
    if (error instanceof UnrecoverableError) return this.deadLetter(job, 'unrecoverable', toTaskError(error, false), 'failed');
    const policy = mergeRetryPolicies(this.options.defaults.retryPolicy, handler.options?.retryPolicy, env.meta[StemMeta.retryPolicy] as RetryPolicy | undefined);
    const requested = error instanceof TaskRetryRequest;
    const allowed = requested || isRetryableError(policy, error);
    if (allowed && env.attempt < maxRetries) {
      const delay = (requested ? error.countdown : undefined) ?? computeBackoff(policy, env.attempt);
      return this.retry(job, toTaskError(error, true), delay);
    }
    const reason = allowed ? 'max-retries-exhausted' : 'not-retryable';
    return this.deadLetter(job, reason, toTaskError(error, false), 'failed');
  }

  private async retry(job: Job, taskError: TaskError, delay: number): Promise<void> {
    const env = job.delivery.envelope;
    await this.writeStatus(env, { state: 'retried', attempt: env.attempt, error: taskError, meta: { [StemMeta.retryDelayMs]: delay } });
    markReleased(job);
    await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, attempt: env.attempt + 1, notBefore: this.clock.now() + delay }) });
    const followUps = this.extensions.settle({ envelope: env, state: 'retried', error: taskError, delayMs: delay }, false);
    if (followUps) await followUps;
    this.counters.retried++;
    this.events.emit('task:retried', env, taskError, delay);
  }

  /**
   * Moves the delivery to the dead letters with `reason`, then writes the terminal `state`.
   * @param trusted false for envelopes whose content cannot be trusted: extensions are not told
   */
  async deadLetter(job: Job, reason: string, error: TaskError, state: 'failed' | 'cancelled', trusted = true): Promise<void> {
    const env = job.delivery.envelope;
    // NOTE: the dead letter is written before the terminal status, so whoever sees `failed` can
    // already find the dead letter; a crash in between leaves the envelope safe in the DLQ.
    markReleased(job);
    await this.broker.deadLetter(job.delivery, reason, { error });
    const recorded: TaskError = { ...error, meta: { ...error.meta, [StemMeta.deadLetterReason]: reason } };
    await this.writeStatus(env, { state, attempt: env.attempt, error: recorded });
    if (trusted) {
      const followUps = this.extensions.settle({ envelope: env, state, error: recorded }, false);
      if (followUps) await followUps;
    }
    if (state === 'failed') {
      this.counters.failed++;
      this.events.emit('task:failed', env, error);
    }
    this.events.emit('task:dead-lettered', env, reason);
  }

  /** Puts the delivery back until `until` without using an attempt (status `queued` with `meta`). */
  async postpone(job: Job, until: number, meta?: Record<string, unknown>): Promise<void> {
    const env = job.delivery.envelope;
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt, ...(meta ? { meta } : {}) });
    markReleased(job);
    await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, notBefore: until }) });
  }

  /** A soft or hard shutdown stopped the task: put it back as it was, without using an attempt. */
  async requeueForShutdown(job: Job): Promise<void> {
    const env = job.delivery.envelope;
    markReleased(job);
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt });
    await this.broker.nack(job.delivery, { requeue: true });
  }

  /** Hands a delivery back untouched (prefetched ones at shutdown, running ones at a hard shutdown). */
  async requeue(job: Job): Promise<void> {
    markReleased(job);
    await this.broker.nack(job.delivery, { requeue: true });
  }

  /**
   * A store failed while a delivery was being processed (backend or broker unreachable). The
   * delivery is requeued shortly rather than left to its lease, and runs again (at least once).
   */
  async recover(job: Job, error: unknown): Promise<void> {
    this.events.emit('worker:error', error);
    if (isAbandoned(job)) return;
    markReleased(job);
    const env = job.delivery.envelope;
    await this.broker
      .nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, notBefore: this.clock.now() + STORE_ERROR_REQUEUE_DELAY_MS }) })
      .catch((nackError) => this.events.emit('worker:error', nackError));
  }

  /** Waits for the acks in flight. */
  async flush(): Promise<void> {
    await Promise.all([...this.settling]);
  }

  /** Re-signs an envelope the worker changed (retry, delay), so it still verifies. */
  private resign(envelope: Envelope): Envelope {
    const signer = this.options.signer;
    return signer?.canSign ? signer.sign(envelope) : envelope;
  }

  private track(settle: Promise<void>): void {
    const tracked = settle.catch((error) => this.events.emit('worker:error', error)).finally(() => this.settling.delete(tracked));
    this.settling.add(tracked);
  }
}
