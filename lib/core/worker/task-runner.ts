import type { TaskArgsValidator } from '../args-validator.js';
import type { RateLimit, RateLimiter } from '../contracts/rate-limiter.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { StemMeta, type TaskError } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { ResultNotStorableError } from '../errors/result-not-storable.error.js';
import { TaskCancelledError } from '../errors/task-cancelled.error.js';
import { SignatureInvalidError } from '../errors/signature-invalid.error.js';
import { UnknownTaskError } from '../errors/unknown-task.error.js';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { TaskHandler, TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { ExtensionChain } from './extension-chain.js';
import { retryPolicyOf } from './failure-disposition.js';
import { isAbandoned, type Job } from './job.js';
import { RateLimitAdmission } from './rate-limit-admission.js';
import type { Settlement } from './settlement.js';
import { TaskAttempt } from './task-attempt.js';
import { toTaskError } from './task-error.util.js';
import { INLINE_EXECUTOR, type TaskExecutor } from './task-executor.js';
import type { TerminalTaskOutcome } from './task-outcome.js';
import type { RunDecision } from './worker-extension.js';
import type { TaskContextHost } from './worker-task-context.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** Handles a rejection nobody else waits for (the `running` write is awaited later, if at all). */
const ignoreRejection = (): undefined => undefined;

/** What the task runner needs from its worker. */
export interface TaskRunnerOptions {
  readonly registry: TaskRegistry;
  readonly defaults: TaskDefaults;
  readonly clock: Clock;
  readonly signals: WorkerSignalSink;
  readonly encoders: TaskPayloadEncoderRegistry;
  readonly argsValidator?: TaskArgsValidator;
  readonly signer?: EnvelopeSigner;
  readonly rateLimiter: RateLimiter;
  readonly executors: Readonly<Record<string, TaskExecutor>>;
  readonly extensions: ExtensionChain;
  readonly settlement: Settlement;
  readonly host: TaskContextHost;
}

/**
 * The pipeline of one delivery, as ordered steps: verify the signature, resolve the handler and
 * its executor, check expiry, decode and validate the args, admission (rate limits, see
 * {@link RateLimitAdmission}, then the extensions' `beforeRun`), run through the executor (inside the extensions' `wrapRun`), encode
 * the result. Every step that ends the delivery hands it to {@link Settlement}; any other error
 * (a store error, an extension throwing) escapes to the caller, which hands it to
 * {@link Settlement.recover}: requeued with backoff, within the pipeline failure budget.
 */
export class TaskRunner {
  private readonly signals: WorkerSignalSink;
  private readonly clock: Clock;
  private readonly defaults: TaskDefaults;
  private readonly encoders: TaskPayloadEncoderRegistry;
  private readonly executors: Readonly<Record<string, TaskExecutor>>;
  private readonly extensions: ExtensionChain;
  private readonly settlement: Settlement;
  private readonly rateLimits: RateLimitAdmission;

  constructor(private readonly options: TaskRunnerOptions) {
    this.signals = options.signals;
    this.clock = options.clock;
    this.defaults = options.defaults;
    this.encoders = options.encoders;
    this.executors = options.executors;
    this.extensions = options.extensions;
    this.settlement = options.settlement;
    this.rateLimits = new RateLimitAdmission(options);
  }

  /** Checks a registered handler before the worker starts: parses its rate limits, finds its executor. */
  prepare(handler: TaskHandler): void {
    this.rateLimits.prepare(handler);
    const name = handler.options?.runIn ?? INLINE_EXECUTOR;
    if (!this.executors[name]) throw new ConfigurationError('runIn', this.missingExecutor(handler, name));
  }

  /**
   * Runs the pipeline of one job to its settlement; an error inside it goes to
   * {@link Settlement.recover}. Calls `release` with the job at the end either way. Never rejects.
   */
  async runThenRelease(job: Job, release: (job: Job) => void): Promise<void> {
    try {
      await this.run(job);
    } catch (error) {
      await this.settlement.recover(job, error);
    } finally {
      release(job);
    }
  }

  /** Runs the pipeline of one job to its settlement. */
  async run(job: Job): Promise<void> {
    const { delivery, handler } = job;
    const env = delivery.envelope;
    // NOTE: a prefetched delivery whose lease was lost while it waited belongs to another worker now.
    if (isAbandoned(job)) return;
    this.signals.emit('task-received', { envelope: env });

    const signature = this.options.signer?.verify(env);
    if (signature && !signature.valid) {
      const error = new SignatureInvalidError(env.name, env.id, signature.reason, signature.keyId);
      return this.settlement.deadLetter(job, 'signature-invalid', toTaskError(error, false, { keyId: signature.keyId ?? null }), 'failed', false);
    }

    if (!handler) {
      const error = new UnknownTaskError(
        env.name,
        this.options.registry.list().map((h) => h.name),
      );
      return this.settlement.deadLetter(job, 'unregistered-task', toTaskError(error, false), 'failed');
    }
    const executorName = handler.options?.runIn ?? INLINE_EXECUTOR;
    const executor = this.executors[executorName];
    if (!executor) {
      const error = new ConfigurationError('runIn', this.missingExecutor(handler, executorName));
      return this.settlement.deadLetter(job, 'unknown-executor', toTaskError(error, false), 'failed');
    }

    const expiresAt = (env.meta[StemMeta.expiresAt] as number | undefined) ?? (handler.options?.expires !== undefined ? env.enqueuedAt + handler.options.expires : undefined);
    if (expiresAt !== undefined && this.clock.now() >= expiresAt) {
      this.signals.emit('task-expired', { envelope: env });
      const error: TaskError = { type: 'TaskExpired', message: `Task "${env.name}" expired at ${new Date(expiresAt).toISOString()} before it ran`, retryable: false };
      return this.settlement.deadLetter(job, 'expired', error, 'cancelled');
    }

    let args: unknown;
    try {
      args = this.encoders.decode(env.args, env.headers[EncoderKeys.argsHeader], `args of task "${env.name}"`);
      if (this.options.argsValidator) args = this.options.argsValidator.validate(handler, args);
    } catch (error) {
      return this.settlement.deadLetter(job, 'invalid-args', toTaskError(error, false), 'failed');
    }

    let admittedMeta: Readonly<Record<string, unknown>> | undefined;
    if (this.rateLimits.applies(handler)) {
      const verdict = await this.rateLimits.admit(job, handler, args);
      if (!verdict.admitted) return;
      admittedMeta = verdict.meta;
    }
    const attempt = this.attemptOf(job, handler, args);
    if (this.extensions.admits) {
      const decision = await this.extensions.admit(attempt);
      if (decision) return this.decided(job, decision, attempt);
    }

    // NOTE: the handler starts while the `running` write is in flight; backends apply one task's
    // writes in call order, so later writes need not wait for it, only the ack does.
    const running = this.settlement.writeStatus(
      env,
      admittedMeta ? { state: 'running', attempt: env.attempt, meta: { ...admittedMeta } } : { state: 'running', attempt: env.attempt },
    );
    running.catch(ignoreRejection);
    const started = this.clock.now();
    job.executedAt = started;
    this.signals.emit('task-prerun', { envelope: env });
    if (isAbandoned(job)) return;
    let result: unknown;
    try {
      result = await (this.extensions.wraps ? this.extensions.wrap(attempt, () => executor.run(attempt)) : executor.run(attempt));
    } catch (error) {
      if (isAbandoned(job)) return;
      await running;
      if (job.controller.reason instanceof WorkerShutdownError) return this.settlement.requeueForShutdown(job);
      if (job.controller.reason instanceof TaskCancelledError) return this.settlement.cancel(job, toTaskError(job.controller.reason, false), job.controller.reason.meta);
      return this.settlement.fail(job, handler, error, attempt.maxRetries);
    }
    if (isAbandoned(job)) return;
    // NOTE: awaited rather than returned: an async function that returns a promise adopts it
    // through an extra job and promise, which showed up per task in allocation profiles.
    return await this.encode(job, handler, result, running, started);
  }

  /** The last step: encode the result and hand the success to settlement. */
  private encode(job: Job, handler: TaskHandler, result: unknown, running: Promise<void>, started: number): Promise<void> {
    const env = job.delivery.envelope;
    const ignore = (env.meta[StemMeta.ignoreResult] as boolean | undefined) ?? handler.options?.ignoreResult ?? this.defaults.ignoreResult ?? false;
    let payload: unknown;
    let resultEncoder: string;
    try {
      const encoder = this.encoders.resolve(handler.options?.resultEncoder ?? this.encoders.resultEncoder, `resultEncoder of task "${env.name}"`);
      resultEncoder = encoder.id;
      payload = ignore ? undefined : encoder.encode(result);
    } catch (error) {
      return this.settlement.deadLetter(job, 'result-not-storable', toTaskError(new ResultNotStorableError(env.name, error), false), 'failed');
    }
    const outcome: TerminalTaskOutcome = ignore
      ? { envelope: env, state: 'succeeded', result, resultEncoder }
      : { envelope: env, state: 'succeeded', result, payload, resultEncoder };
    return this.settlement.succeed(job, outcome, running, started);
  }

  private attemptOf(job: Job, handler: TaskHandler, args: unknown): TaskAttempt {
    const env = job.delivery.envelope;
    const maxRetries = env.maxRetries ?? handler.options?.maxRetries ?? this.defaults.maxRetries ?? DEFAULT_TASK_OPTIONS.maxRetries;
    const soft = (env.meta[StemMeta.softTimeLimitMs] as number | undefined) ?? handler.options?.softTimeLimit ?? this.defaults.softTimeLimit;
    const hard = (env.meta[StemMeta.hardTimeLimitMs] as number | undefined) ?? handler.options?.hardTimeLimit ?? this.defaults.hardTimeLimit;
    return new TaskAttempt(job, handler, args, maxRetries, retryPolicyOf(this.defaults, handler, env), soft, hard, this.options.host, this.signals);
  }

  /** Acts on an extension's decision not to run the attempt now. */
  private async decided(job: Job, decision: Exclude<RunDecision, { action: 'run' }>, attempt: TaskAttempt): Promise<void> {
    if (decision.action === 'fail') return this.settlement.fail(job, attempt.handler, decision.error, attempt.maxRetries);
    if (decision.action === 'cancel') return this.settlement.cancel(job, decision.error, decision.meta);
    if (decision.action === 'dead-letter') return this.settlement.deadLetter(job, decision.reason, decision.error, decision.state ?? 'failed');
    const delay = Math.max(0, decision.delayMs);
    await this.settlement.postpone(job, this.clock.now() + delay, decision.meta ? { ...decision.meta } : undefined);
    this.signals.emit('task-delayed', { envelope: job.delivery.envelope, delayMs: delay, reason: decision.reason });
  }

  /** Replaces the rate limit of task `name` (`null`: none) for the rest of the worker's life. */
  overrideRateLimit(name: string, limit: RateLimit | null): void {
    this.rateLimits.override(name, limit);
  }

  private missingExecutor(handler: TaskHandler, name: string): string {
    const known = Object.keys(this.executors)
      .map((k) => `"${k}"`)
      .join(', ');
    return `task "${handler.name}" runs in executor "${name}", but this worker has only ${known}; pass it in the worker's \`executors\` option or change the task's \`runIn\``;
  }
}
