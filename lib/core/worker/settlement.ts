import type { Broker } from '../contracts/broker.js';
import type { ResultBackend, SetStatusOptions, TaskStatusUpdate } from '../contracts/result-backend.js';
import { type StatusAck, statusAckerFor } from '../contracts/status-ack.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { type Envelope, StemMeta, type TaskError } from '../envelope.js';
import { AckNotConfirmedError } from '../errors/ack-not-confirmed.error.js';
import { ResultNotStorableError } from '../errors/result-not-storable.error.js';
import { computeBackoff } from '../retry-policy.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { TaskHandler } from '../task-handler.js';
import type { TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { ExtensionChain } from './extension-chain.js';
import { failureDisposition, retryPolicyOf } from './failure-disposition.js';
import { isAbandoned, type Job, markReleased } from './job.js';
import { PIPELINE_ERROR_REASON, PipelineFailureBudget } from './pipeline-failures.js';
import { isSerializationError, toTaskError } from './task-error.util.js';
import type { PostrunState } from '../signals/signal-map.js';
import type { TerminalTaskOutcome } from './task-outcome.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** What `writeStatus` returns without a backend. */
const STORED: Promise<void> = Promise.resolve();

/** What settlement needs from its worker. */
export interface SettlementOptions {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  readonly clock: Clock;
  readonly signals: WorkerSignalSink;
  readonly extensions: ExtensionChain;
  readonly defaults: TaskDefaults;
  readonly signer?: EnvelopeSigner;
  /** TTL in ms of the statuses written. */
  readonly resultTtl?: number;
  /** Counts errors inside each delivery's pipeline. @default a budget of 5, from 1 s */
  readonly pipelineFailures?: PipelineFailureBudget;
}

/** Counters of settled tasks. */
export interface SettlementCounters {
  succeeded: number;
  failed: number;
  retried: number;
  cancelled: number;
}

/**
 * Ends a delivery: writes its status and then acks it, retries it under the same id with backoff,
 * dead-letters it with a reason, or hands it back (rate limit, delay, shutdown, store error).
 * The terminal status is always written before the ack, and extensions' `onSettled` runs in
 * between.
 */
export class Settlement {
  /** Tasks settled since the worker started. */
  readonly counters: SettlementCounters = { succeeded: 0, failed: 0, retried: 0, cancelled: 0 };
  private readonly broker: Broker;
  private readonly backend?: ResultBackend;
  private readonly clock: Clock;
  private readonly signals: WorkerSignalSink;
  private readonly extensions: ExtensionChain;
  private readonly pipelineFailures: PipelineFailureBudget;
  private readonly statusAck: StatusAck | undefined;
  private readonly statusOptions: SetStatusOptions | undefined;
  /** Acks sent but not yet confirmed; `flush()` waits for them. */
  private settling = 0;
  /** Resolved by `flush()` callers once no ack is in flight. */
  private flushed: (() => void)[] = [];
  private readonly acked = (): void => {
    if (--this.settling > 0) return;
    const waiting = this.flushed;
    this.flushed = [];
    for (const resolve of waiting) resolve();
  };
  private readonly ackFailed = (error: unknown): void => {
    this.signals.error(error);
    this.acked();
  };

  constructor(private readonly options: SettlementOptions) {
    this.broker = options.broker;
    this.backend = options.backend;
    this.clock = options.clock;
    this.signals = options.signals;
    this.extensions = options.extensions;
    this.pipelineFailures = options.pipelineFailures ?? new PipelineFailureBudget();
    this.statusAck = statusAckerFor(options.broker, options.backend);
    this.statusOptions = options.resultTtl !== undefined ? { ttl: options.resultTtl } : undefined;
  }

  /** Writes a status of the task (no-op without a backend). Never throws: a failed write rejects. */
  writeStatus(env: Envelope, update: Omit<TaskStatusUpdate, 'name' | 'queue'>): Promise<void> {
    if (!this.backend) return STORED;
    try {
      return this.backend.set(env.id, fullStatus(env, update), this.statusOptions);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores a success (with `running`, the `running` write still in flight), runs the extensions,
   * then acks. A result the backend cannot store is dead-lettered `result-not-storable`.
   */
  async succeed(job: Job, outcome: TerminalTaskOutcome, running: Promise<void>, startedAt: number): Promise<void> {
    const env = job.delivery.envelope;
    const update: Omit<TaskStatusUpdate, 'name' | 'queue'> = {
      state: 'succeeded',
      attempt: env.attempt,
      ...('payload' in outcome ? { payload: outcome.payload } : {}),
      meta: { ...job.statusMeta, [EncoderKeys.resultMeta]: outcome.resultEncoder },
    };
    if (this.statusAck && !this.extensions.followsUp(outcome)) return this.succeedFolded(job, outcome, running, startedAt, this.statusAck, update);
    try {
      // NOTE: backends apply one task's writes in call order, so `succeeded` is sent without
      // waiting for `running` to be confirmed; both must be stored before the ack.
      const succeeded = this.writeStatus(env, update);
      // NOTE: `running` already has a handler (the runner's), so it never goes unhandled if
      // `succeeded` fails first.
      await succeeded;
      await running;
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
    this.signals.emit('task-succeeded', { envelope: env, result: outcome.result, durationMs: this.clock.now() - startedAt });
    this.postrun(job, 'succeeded');
  }

  /**
   * A success without follow-ups before the ack: `succeeded` is stored and the delivery acked in
   * one step (`StatusAck`), then the extensions are told. The `running` write is sent earlier on
   * the same connection, so it is applied first; if it alone fails, the task's end still stands
   * and the error is reported.
   */
  private async succeedFolded(
    job: Job,
    outcome: TerminalTaskOutcome,
    running: Promise<void>,
    startedAt: number,
    statusAck: StatusAck,
    update: Omit<TaskStatusUpdate, 'name' | 'queue'>,
  ): Promise<void> {
    const env = job.delivery.envelope;
    if (isAbandoned(job)) return;
    // NOTE: `finishing` while the step is in flight: a hard shutdown must not requeue a delivery
    // that may be acked a moment later; the state goes back to `running` if the step fails.
    job.state = 'finishing';
    try {
      const stored = statusAck.ackWithStatus(job.delivery, fullStatus(env, update), this.statusOptions);
      const [runningWrite] = await Promise.all([
        running.then(
          () => undefined,
          (error: unknown) => error ?? new Error('running status not stored'),
        ),
        stored,
      ]);
      if (runningWrite) this.signals.error(runningWrite);
    } catch (error) {
      if (error instanceof AckNotConfirmedError) {
        this.signals.error(error);
      } else {
        if (job.state === 'finishing') job.state = 'running';
        if (!isSerializationError(error)) throw error;
        return this.deadLetter(job, 'result-not-storable', toTaskError(new ResultNotStorableError(env.name, error), false), 'failed');
      }
    }
    // NOTE: stored and acked: the end stands even if the job was given up meanwhile (a lease
    // renewal that found the lease this step removed).
    job.handedBack = true;
    this.counters.succeeded++;
    const followUps = this.extensions.settle(outcome, false);
    if (followUps) await followUps;
    this.signals.emit('task-succeeded', { envelope: env, result: outcome.result, durationMs: this.clock.now() - startedAt });
    this.postrun(job, 'succeeded');
  }

  /** The attempt failed: retry under the same id while the policy allows it, else dead-letter it. */
  async fail(job: Job, handler: TaskHandler, error: unknown, maxRetries: number): Promise<void> {
    const env = job.delivery.envelope;
    const policy = retryPolicyOf(this.options.defaults, handler, env);
    const disposition = failureDisposition(error, env.attempt, maxRetries, policy);
    if (disposition.retry) return this.retry(job, toTaskError(error, true), disposition.countdown ?? computeBackoff(policy, env.attempt));
    return this.deadLetter(job, disposition.reason, toTaskError(error, false), 'failed');
  }

  private async retry(job: Job, taskError: TaskError, delay: number): Promise<void> {
    const env = job.delivery.envelope;
    await this.writeStatus(env, { state: 'retried', attempt: env.attempt, error: taskError, meta: { ...job.statusMeta, [StemMeta.retryDelayMs]: delay } });
    markReleased(job);
    const next = PipelineFailureBudget.cleared({ ...env, attempt: env.attempt + 1, notBefore: this.clock.now() + delay });
    await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign(next) });
    job.handedBack = true;
    this.pipelineFailures.forget(env);
    const followUps = this.extensions.settle({ envelope: env, state: 'retried', error: taskError, delayMs: delay }, false);
    if (followUps) await followUps;
    this.counters.retried++;
    this.signals.emit('task-retry', { envelope: env, error: taskError, delayMs: delay });
    this.postrun(job, 'retried');
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
    job.handedBack = true;
    this.pipelineFailures.forget(env);
    const recorded: TaskError = { ...error, meta: { ...error.meta, [StemMeta.deadLetterReason]: reason } };
    await this.writeStatus(env, { state, attempt: env.attempt, error: recorded, ...(job.statusMeta ? { meta: { ...job.statusMeta } } : {}) });
    if (trusted) {
      const followUps = this.extensions.settle({ envelope: env, state, error: recorded }, false);
      if (followUps) await followUps;
    }
    if (state === 'failed') {
      this.counters.failed++;
      this.signals.emit('task-failed', { envelope: env, error });
    }
    this.signals.emit('task-dead-lettered', { envelope: env, reason });
    this.postrun(job, state);
  }

  /** Ends the task `cancelled` without running it again: status with `error` and `meta`, extensions, then the ack. */
  async cancel(job: Job, error: TaskError, meta?: Readonly<Record<string, unknown>>): Promise<void> {
    const env = job.delivery.envelope;
    if (isAbandoned(job)) return;
    await this.writeStatus(env, { state: 'cancelled', attempt: env.attempt, error, ...(meta || job.statusMeta ? { meta: { ...job.statusMeta, ...meta } } : {}) });
    job.state = 'finishing';
    const followUps = this.extensions.settle({ envelope: env, state: 'cancelled', error }, false);
    if (followUps) await followUps;
    this.pipelineFailures.forget(env);
    await this.broker.ack(job.delivery);
    job.handedBack = true;
    this.counters.cancelled++;
    this.signals.emit('task-revoked', { envelope: env, error });
    this.postrun(job, 'cancelled');
  }

  /** Puts the delivery back until `until` without using an attempt (status `queued` with `meta`). */
  async postpone(job: Job, until: number, meta?: Record<string, unknown>): Promise<void> {
    const env = job.delivery.envelope;
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt, ...(meta ? { meta } : {}) });
    markReleased(job);
    await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign({ ...env, notBefore: until }) });
    job.handedBack = true;
  }

  /** A soft or hard shutdown stopped the task: put it back as it was, without using an attempt. */
  async requeueForShutdown(job: Job): Promise<void> {
    const env = job.delivery.envelope;
    markReleased(job);
    await this.writeStatus(env, { state: 'queued', attempt: env.attempt });
    await this.broker.nack(job.delivery, { requeue: true });
    job.handedBack = true;
  }

  /** Hands a delivery back untouched (prefetched ones at shutdown, running ones at a hard shutdown). */
  async requeue(job: Job): Promise<void> {
    markReleased(job);
    await this.broker.nack(job.delivery, { requeue: true });
    job.handedBack = true;
  }

  /**
   * Something inside the pipeline failed (a store error, an extension's `beforeRun` throwing, a
   * follow-up failing after the task succeeded, a requeue or dead-letter write refused). The
   * failure counts against the delivery's pipeline budget: the delivery is requeued with
   * exponential backoff and its count in meta, and once the budget is used up it is dead-lettered
   * with reason `pipeline-error` and the last error. A write the broker refuses leaves the
   * delivery to its lease (it comes back after the lease, never in a hot loop). Never rejects.
   */
  async recover(job: Job, error: unknown): Promise<void> {
    try {
      await this.countFailure(job, error);
    } catch (failure) {
      this.signals.error(failure);
    }
  }

  private async countFailure(job: Job, error: unknown): Promise<void> {
    this.signals.error(error);
    if (isAbandoned(job) || job.handedBack) return;
    // NOTE: a job still `finishing` has its `succeeded` status stored; only its follow-ups failed.
    const resultStored = job.state === 'finishing';
    markReleased(job);
    const env = job.delivery.envelope;
    const failures = this.pipelineFailures.record(env);
    if (this.pipelineFailures.exhausted(failures)) return this.pipelineExhausted(job, error, failures, resultStored);
    const delay = this.pipelineFailures.delayAfter(failures);
    const next = PipelineFailureBudget.withFailures({ ...env, notBefore: this.clock.now() + delay }, failures);
    try {
      await this.broker.nack(job.delivery, { requeue: true, envelope: this.resign(next) });
      job.handedBack = true;
    } catch (nackError) {
      this.signals.error(nackError);
    }
  }

  /** The pipeline budget is used up: dead-letter the delivery `pipeline-error`. */
  private async pipelineExhausted(job: Job, error: unknown, failures: number, resultStored: boolean): Promise<void> {
    const env = job.delivery.envelope;
    const taskError = toTaskError(error, false, { [StemMeta.pipelineFailures]: failures, ...(resultStored ? { resultStored: true } : {}) });
    try {
      await this.broker.deadLetter(job.delivery, PIPELINE_ERROR_REASON, { error: taskError });
      job.handedBack = true;
    } catch (deadLetterError) {
      // NOTE: left to its lease: it comes back once the lease lapses (not in a hot loop), and its
      // next pipeline error dead-letters it at once.
      this.signals.error(deadLetterError);
      return;
    }
    this.pipelineFailures.forget(env);
    const reason = { [StemMeta.deadLetterReason]: PIPELINE_ERROR_REASON };
    if (resultStored) {
      // NOTE: the task's own `succeeded` stays; its status only records that a follow-up failed.
      await this.backend?.touch(env.id, { meta: reason }).catch((e: unknown) => this.signals.error(e));
    } else {
      const recorded: TaskError = { ...taskError, meta: { ...taskError.meta, ...reason } };
      await this.writeStatus(env, { state: 'failed', attempt: env.attempt, error: recorded }).catch((e: unknown) => this.signals.error(e));
      const followUps = this.extensions.settle({ envelope: env, state: 'failed', error: recorded }, false);
      if (followUps) await followUps;
      this.counters.failed++;
      this.signals.emit('task-failed', { envelope: env, error: taskError });
      this.postrun(job, 'failed');
    }
    this.signals.emit('task-dead-lettered', { envelope: env, reason: PIPELINE_ERROR_REASON });
  }

  /** `task-postrun` for an attempt that ran (it passed `task-prerun`). */
  private postrun(job: Job, state: PostrunState): void {
    if (job.executedAt !== undefined) this.signals.emit('task-postrun', { envelope: job.delivery.envelope, state, durationMs: this.clock.now() - job.executedAt });
  }

  /** Waits for the acks in flight. */
  async flush(): Promise<void> {
    if (this.settling > 0) await new Promise<void>((resolve) => this.flushed.push(resolve));
  }

  /** Re-signs an envelope the worker changed (retry, delay), so it still verifies. */
  private resign(envelope: Envelope): Envelope {
    const signer = this.options.signer;
    return signer?.canSign ? signer.sign(envelope) : envelope;
  }

  private track(settle: Promise<void>): void {
    this.settling++;
    settle.then(this.acked, this.ackFailed);
  }
}

/** The status a task's write stores: the update with the task's name and queue. */
function fullStatus(env: Envelope, update: Omit<TaskStatusUpdate, 'name' | 'queue'>): TaskStatusUpdate {
  // NOTE: every field listed (none spread), and the type makes a field added to TaskStatusUpdate an error here.
  const full: { readonly [K in keyof Required<TaskStatusUpdate>]: TaskStatusUpdate[K] } = {
    state: update.state,
    attempt: update.attempt,
    name: env.name,
    queue: env.queue,
    payload: update.payload,
    error: update.error,
    meta: update.meta,
    args: update.args,
  };
  return full;
}
