import { hostname } from 'node:os';
import { CanvasCoordinator } from '../canvas/canvas.worker-hook.js';
import type { TaskArgsValidator } from '../args-validator.js';
import type { Broker, Delivery } from '../contracts/broker.js';
import type { Envelope } from '../envelope.js';
import type { BroadcastBridge } from '../routing/broadcast-bridge.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import type { Stem } from '../stem.js';
import type { TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type TaskDefaults } from '../task-options.js';
import { type Clock, sleepUnlessAborted, systemClock } from '../utils/clock.js';
import type { StemSignals } from '../signals/stem-signals.js';
import { StemTracing } from '../observability/stem-tracing.js';
import { consoleTaskLogSink, type TaskLogSink } from '../observability/task-logger.js';
import { uuidv7 } from '../utils/uuid.js';
import { Autoscaler } from './autoscaler.js';
import { DrainGate } from './drain-gate.js';
import { workerExtensions, workerProducer, workerSignals, workerSubscription } from './worker-parts.js';
import { WorkerSignalSink } from './worker-signals.js';
import { ExtensionChain } from './extension-chain.js';
import { fetchRoom } from './fetch-room.js';
import { InMemoryRateLimiterFallback } from './fallback-rate-limiter.js';
import { InlineExecutor } from './inline-executor.js';
import { abandon, bufferedJob, type Job, markReleased, markRunning } from './job.js';
import { LeaseKeeper } from './lease-keeper.js';
import { QueueSubscription } from './queue-subscription.js';
import { PipelineFailureBudget } from './pipeline-failures.js';
import { Settlement } from './settlement.js';
import { INLINE_EXECUTOR, type TaskExecutor } from './task-executor.js';
import { TaskRunner } from './task-runner.js';
import type { RateLimit } from '../contracts/rate-limiter.js';
import { WorkerContextHost } from './worker-context-host.js';
import type { ShutdownMode, WorkerOptions } from './worker.options.js';
import type { WorkerStats } from './worker-stats.js';

/** How long a hard shutdown waits for tasks whose result is stored to ack. */
const FINISHING_GRACE_MS = 5_000;

/** Shutdown modes by strength: a close in a stronger mode takes over a weaker one in progress. */
const SHUTDOWN_STRENGTH: Readonly<Record<ShutdownMode, number>> = { warm: 0, soft: 1, hard: 2 };

/**
 * Consumes queues and runs tasks: leases with auto-renewal, retries with backoff, dead letters,
 * rate limits, time limits, a hard concurrency cap, and warm/soft/hard shutdown.
 *
 * The worker itself only fetches, dispatches to free slots and shuts down; a {@link LeaseKeeper}
 * renews leases, a {@link TaskRunner} runs each delivery's pipeline through a {@link TaskExecutor},
 * {@link Settlement} writes outcomes and acks, and {@link WorkerExtension}s plug into each delivery.
 *
 * @example
 * const worker = new Worker({ broker, backend, registry, queues: ['emails'], concurrency: 8 });
 * worker.signals.on('task-failed', ({ envelope, error }) => log.error(envelope.name, error.message));
 * await worker.start();
 * // ...
 * await worker.close(); // warm: waits for running tasks
 */
export class Worker {
  /** Typed lifecycle and task signals (shared with the producer it was given, see `WorkerOptions.signals`). */
  readonly signals: StemSignals;
  private readonly sink: WorkerSignalSink;
  readonly id: string;
  readonly queues: readonly string[];
  private slots: number;
  /** Deliveries fetched ahead of free slots. */
  readonly prefetch: number;
  private readonly taskLogSink: TaskLogSink;
  private readonly tracing?: StemTracing;
  private readonly broker: Broker;
  private readonly backend?: ResultBackend;
  private readonly registry: TaskRegistry;
  private readonly defaults: TaskDefaults;
  private readonly clock: Clock;
  private readonly argsValidator?: TaskArgsValidator;
  private readonly producer: Stem;
  private readonly encoders: TaskPayloadEncoderRegistry;
  private readonly executors: Readonly<Record<string, TaskExecutor>>;
  private readonly leases: LeaseKeeper;
  private readonly settlement: Settlement;
  private readonly runner: TaskRunner;
  private readonly subscription: QueueSubscription;
  private started = false;
  private loop?: Promise<void>;
  private readonly fetchAbort = new AbortController();
  private readonly buffer: Job[] = [];
  private readonly running = new Set<Job>();
  private slotWaiter?: () => void;
  private readonly drainGate: DrainGate;
  private closing?: Promise<void>;
  private closeMode: ShutdownMode = 'warm';
  private closeGrace = 0;
  private stopping = false;
  private readonly autoscaler?: Autoscaler;
  private readonly broadcasts?: BroadcastBridge;

  constructor(private readonly options: WorkerOptions) {
    if (options.signer && !options.signer.canSign) {
      throw new ConfigurationError(
        'signing',
        'the worker has only verify keys; workers re-sign retries, rate-limit delays and child tasks, so give them the signing key too (STEM_SIGNING_KEYS, or STEM_SIGNING_PRIVATE_KEYS for Ed25519)',
      );
    }
    const pipelineFailures = PipelineFailureBudget.fromOptions(options.pipelineFailureBudget, options.pipelineFailureBackoff);
    this.broker = options.broker;
    this.backend = options.backend;
    this.registry = options.registry;
    this.defaults = options.defaults ?? {};
    this.clock = options.clock ?? systemClock;
    this.slots = Math.max(1, Math.floor(options.concurrency ?? 8));
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? this.slots));
    this.id = options.id ?? `stem-worker-${hostname()}-${process.pid}-${uuidv7().slice(-6)}`;
    this.argsValidator = options.argsValidator;
    this.tracing = StemTracing.from(options.tracing);
    this.taskLogSink = options.taskLogSink ?? consoleTaskLogSink;
    this.encoders = options.encoders ?? options.producer?.encoders ?? new TaskPayloadEncoderRegistry();
    this.signals = workerSignals(options);
    this.sink = new WorkerSignalSink(this.signals, this.id);
    this.producer =
      options.producer ?? workerProducer(options, { defaults: this.defaults, clock: this.clock, encoders: this.encoders, tracing: this.tracing, signals: this.signals });
    const subscribed = workerSubscription(options, { defaults: this.defaults, producer: this.producer, id: this.id, onError: (e) => this.sink.error(e) });
    this.queues = subscribed.queues;
    this.broadcasts = subscribed.bridge;
    const canvas = new CanvasCoordinator(this.producer, options.groupStore ?? this.producer.groupStore);
    const extensions = new ExtensionChain(workerExtensions(options, canvas, this.tracing, this.id, this.sink), (error) => this.sink.error(error));
    this.executors = { [INLINE_EXECUTOR]: new InlineExecutor(this.clock), ...options.executors };
    this.leases = new LeaseKeeper(this.broker, this.clock, this.sink);
    this.drainGate = new DrainGate(this.clock, () => this.running.size);
    this.subscription = new QueueSubscription(this.broker, this.id, this.defaults.visibilityTimeout ?? DEFAULT_TASK_OPTIONS.visibilityTimeout, this.queues);
    this.settlement = new Settlement({
      broker: this.broker,
      backend: this.backend,
      clock: this.clock,
      signals: this.sink,
      extensions,
      defaults: this.defaults,
      signer: options.signer,
      resultTtl: options.resultTtl,
      pipelineFailures,
    });
    this.runner = new TaskRunner({
      registry: this.registry,
      defaults: this.defaults,
      clock: this.clock,
      signals: this.sink,
      encoders: this.encoders,
      argsValidator: this.argsValidator,
      signer: options.signer,
      rateLimiter: options.rateLimiter ?? new InMemoryRateLimiterFallback(this.clock),
      executors: this.executors,
      extensions,
      settlement: this.settlement,
      host: new WorkerContextHost({
        backend: this.backend,
        leases: this.leases,
        clock: this.clock,
        signals: this.sink,
        producer: this.producer,
        taskLogSink: this.taskLogSink,
        jobOf: (d) => this.jobOf(d),
      }),
    });
    if (options.autoscale) {
      const scaler = new Autoscaler(
        this,
        this.broker,
        options.autoscale,
        this.clock,
        (e) => this.sink.error(e),
        (info) => this.sink.emit('worker-scaled', info),
      );
      this.autoscaler = scaler;
      this.slots = scaler.initial;
      for (const executor of new Set(Object.values(this.executors))) executor.resize?.(this.slots);
    }
    this.sink.emit('worker-init', { queues: this.queues, concurrency: this.slots });
  }

  /** Subscribes to the queues and starts taking work. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.closing) throw new Error(`Worker ${this.id} was closed; create a new one`);
    for (const handler of this.registry.list()) this.runner.prepare(handler);
    await this.broadcasts?.start();
    this.started = true;
    this.loop = this.fetchLoop();
    this.autoscaler?.start();
    this.sink.emit('worker-ready', { queues: this.queues, concurrency: this.concurrency });
  }

  /** Queues fetched from now: `queues` minus the ones {@link setConsumedQueues} left out. */
  get consumedQueues(): readonly string[] {
    return this.subscription.activeQueues;
  }

  /**
   * Fetches only from `queues` (a subset of {@link queues}) until called again; the others are
   * not fetched from, their prefetched deliveries are handed back and their running tasks finish.
   */
  setConsumedQueues(queues: readonly string[]): void {
    this.subscription.setActive(queues);
    const consumed = this.subscription.activeQueues;
    for (const job of this.buffer.filter((j) => !consumed.includes(j.delivery.envelope.queue))) {
      this.buffer.splice(this.buffer.indexOf(job), 1);
      this.leases.drop(job);
      void this.settlement.requeue(job).catch((error) => this.sink.error(error));
    }
    this.slotWaiter?.();
  }

  /** Overrides a task's rate limit in this worker (`null` lifts it) until the worker stops. */
  setRateLimit(task: string, limit: RateLimit | null): void {
    this.runner.overrideRateLimit(task, limit);
  }

  /** Envelopes of the running tasks (with the epoch ms they got a slot) and of the prefetched ones. */
  snapshot(): { readonly running: readonly { envelope: Envelope; startedAt: number }[]; readonly prefetched: readonly Envelope[] } {
    return {
      running: [...this.running].map((job) => ({ envelope: job.delivery.envelope, startedAt: job.startedAt ?? 0 })),
      prefetched: this.buffer.map((job) => job.delivery.envelope),
    };
  }

  /** Hard cap on tasks running at once (moves between `autoscale.min` and `max` when autoscaling). */
  get concurrency(): number {
    return this.slots;
  }

  /**
   * Sets the concurrency cap now: more slots take buffered work at once; fewer let running tasks
   * finish (they are never stopped) and start no more until below it. Executors with their own pool follow it
   * (`TaskExecutor.resize`). Emits `worker-resized`.
   */
  setConcurrency(concurrency: number): void {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigurationError('concurrency', `worker ${this.id} got ${concurrency}; pass a whole number of 1 or more`);
    const to = concurrency;
    if (to === this.slots) return;
    const from = this.slots;
    this.slots = to;
    for (const executor of new Set(Object.values(this.executors))) executor.resize?.(to);
    this.sink.emit('worker-resized', { from, to });
    this.dispatch();
    this.slotWaiter?.();
  }

  /**
   * Stops the running task `taskId` at once where its executor can (a thread is terminated and
   * replaced); the attempt fails with `error` (default `TaskTerminatedError`) and is retried per
   * its policy. Returns whether an executor stopped it; inline tasks cannot be stopped.
   */
  terminate(taskId: string, error?: Error): boolean {
    return [...new Set(Object.values(this.executors))].some((executor) => executor.terminate?.(taskId, error) ?? false);
  }

  /** Current counters, with those of the executors that report them. */
  stats(): WorkerStats {
    const executors: Record<string, unknown> = {};
    for (const [name, executor] of Object.entries(this.executors)) if (executor.stats) executors[name] = executor.stats();
    return { id: this.id, queues: this.queues, concurrency: this.slots, active: this.running.size, buffered: this.buffer.length, ...this.settlement.counters, executors };
  }

  /**
   * Stops the worker. Idempotent: later calls return the same promise; a later call in a
   * stronger mode (`warm` < `soft` < `hard`) takes over a shutdown that is still draining.
   * - `warm` (default): stop fetching, requeue prefetched deliveries, wait for running tasks.
   * - `soft`: also abort every running task's `ctx.signal`, wait up to the grace period, then hard.
   * - `hard`: requeue running deliveries at once; their outcome is ignored.
   */
  close(options: { mode?: ShutdownMode; gracePeriod?: number } = {}): Promise<void> {
    const mode = options.mode ?? 'warm';
    const grace = options.gracePeriod ?? this.options.softShutdownGracePeriod ?? 30_000;
    if (!this.closing) {
      this.closeMode = mode;
      this.closeGrace = grace;
      this.closing = this.shutdown();
    } else if (SHUTDOWN_STRENGTH[mode] > SHUTDOWN_STRENGTH[this.closeMode]) {
      this.closeMode = mode;
      this.closeGrace = grace;
      this.drainGate.interrupt();
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.sink.emit('worker-stopping', { mode: this.closeMode, active: this.running.size, prefetched: this.buffer.length });
    this.fetchAbort.abort();
    this.slotWaiter?.();
    const steps: (() => Promise<unknown>)[] = [
      async () => this.broadcasts?.close(),
      async () => this.autoscaler?.stop(),
      async () => this.loop,
      async () =>
        Promise.all(
          this.buffer.splice(0).map((job) => {
            this.leases.drop(job);
            return this.settlement.requeue(job);
          }),
        ),
      async () => this.drain(),
      async () => this.settlement.flush(),
      async () => this.subscription.close(),
      async () => this.leases.close(),
      async () => Promise.all([...new Set(Object.values(this.executors))].map((executor) => executor.close?.())),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.sink.error(error);
      }
    }
    this.sink.emit('worker-shutdown', {});
  }

  /** Waits for running tasks as the close mode says; a stronger `close()` meanwhile takes over. */
  private async drain(): Promise<void> {
    if (this.closeMode === 'warm' && (await this.drainGate.wait(Infinity, true))) return;
    if (this.closeMode === 'soft') {
      for (const job of this.running) job.controller.abort(new WorkerShutdownError(this.id, 'soft'));
      if (await this.drainGate.wait(this.closeGrace, true)) return;
    }
    await this.abandonRunning();
    // NOTE: only tasks whose result is already stored are left; let them ack.
    await this.drainGate.wait(FINISHING_GRACE_MS);
  }

  private async abandonRunning(): Promise<void> {
    const jobs = [...this.running].filter((job) => job.state !== 'finishing');
    for (const job of jobs) {
      abandon(job, new WorkerShutdownError(this.id, 'hard'));
      this.running.delete(job);
      this.leases.drop(job);
    }
    await Promise.all(jobs.map((job) => this.settlement.requeue(job)));
    this.drainGate.notify();
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const room = fetchRoom(this.slots, this.prefetch, this.running.size, this.buffer.length);
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = undefined;
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.subscription.fetch(room, this.fetchAbort.signal);
        failures = 0;
      } catch (error) {
        this.sink.error(error);
        failures++;
        // NOTE: after a failed fetch, wait (exponential, capped at 5 s) or until the worker stops.
        await sleepUnlessAborted(this.clock, Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), this.fetchAbort.signal);
        continue;
      }
      for (const delivery of deliveries) {
        if (this.stopping) {
          await this.broker.nack(delivery, { requeue: true }).catch((e) => this.sink.error(e));
          continue;
        }
        const handler = this.registry.get(delivery.envelope.name);
        const leaseMs = delivery.envelope.visibilityTimeout ?? handler?.options?.visibilityTimeout ?? this.defaults.visibilityTimeout ?? DEFAULT_TASK_OPTIONS.visibilityTimeout;
        const job = bufferedJob(delivery, handler, leaseMs, this.leases.renewAtFor(delivery, leaseMs));
        this.buffer.push(job);
        this.leases.hold(job);
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.running.size < this.slots && this.buffer.length > 0 && !this.stopping) {
      const job = this.buffer.shift()!;
      markRunning(job);
      job.startedAt = this.clock.now();
      this.running.add(job);
      void this.runner.runThenRelease(job, this.released);
    }
  }

  private readonly released = (job: Job): void => this.release(job);
  private release(job: Job): void {
    markReleased(job);
    this.leases.drop(job);
    if (!this.running.delete(job)) return;
    this.dispatch();
    if (fetchRoom(this.slots, this.prefetch, this.running.size, this.buffer.length) > 0) this.slotWaiter?.();
    this.drainGate.notify();
  }

  private jobOf(delivery: Delivery): Job | undefined {
    for (const job of this.running) if (job.delivery === delivery) return job;
    return undefined;
  }
}
