import { hostname } from 'node:os';
import { CanvasCoordinator } from '../canvas/canvas.worker-hook.js';
import type { TaskArgsValidator } from '../args-validator.js';
import type { Broker, Consumer, Delivery } from '../contracts/broker.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import { Stem } from '../stem.js';
import type { TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type TaskDefaults } from '../task-options.js';
import { type Clock, systemClock, type TimerHandle } from '../utils/clock.js';
import { TypedEmitter } from '../utils/typed-emitter.js';
import { StemTracing } from '../observability/stem-tracing.js';
import { consoleTaskLogSink, type TaskLogSink } from '../observability/task-logger.js';
import { TaskTracingExtension } from '../observability/task-tracing.extension.js';
import { uuidv7 } from '../utils/uuid.js';
import { terminalHookExtension, uniqueLockExtension } from './builtin-extensions.js';
import { ExtensionChain } from './extension-chain.js';
import { InMemoryRateLimiterFallback } from './fallback-rate-limiter.js';
import { InlineExecutor } from './inline-executor.js';
import { abandon, bufferedJob, type Job, markReleased, markRunning } from './job.js';
import { LeaseKeeper } from './lease-keeper.js';
import { PipelineFailureBudget } from './pipeline-failures.js';
import { Settlement } from './settlement.js';
import { INLINE_EXECUTOR, type TaskExecutor } from './task-executor.js';
import { TaskRunner } from './task-runner.js';
import type { WorkerExtension } from './worker-extension.js';
import type { TaskContextHost } from './worker-task-context.js';
import type { WorkerEvents } from './worker.events.js';
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
  /** @internal TaskContextHost */
  readonly taskLogSink: TaskLogSink;
  private readonly tracing?: StemTracing;
  private readonly prefetch: number;
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
  private consumer?: Consumer;
  private loop?: Promise<void>;
  private readonly fetchAbort = new AbortController();
  private readonly buffer: Job[] = [];
  private readonly running = new Set<Job>();
  private slotWaiter?: () => void;
  private readonly drainWaiters = new Set<() => void>();
  private closing?: Promise<void>;
  private closeMode: ShutdownMode = 'warm';
  private closeGrace = 0;
  /** Interrupts the drain wait of a shutdown that a stronger `close()` took over. */
  private escalate?: () => void;
  private stopping = false;

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
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? this.concurrency));
    this.id = options.id ?? `stem-worker-${hostname()}-${process.pid}-${uuidv7().slice(-6)}`;
    this.queues = options.queues?.length ? [...options.queues] : this.inferQueues();
    this.argsValidator = options.argsValidator;
    this.tracing = StemTracing.from(options.tracing);
    this.taskLogSink = options.taskLogSink ?? consoleTaskLogSink;
    this.encoders = options.encoders ?? options.producer?.encoders ?? new TaskPayloadEncoderRegistry();
    this.producer =
      options.producer ??
      Stem.fromParts({
        broker: this.broker,
        backend: this.backend,
        registry: this.registry,
        defaults: this.defaults,
        argsValidator: this.argsValidator,
        clock: this.clock,
        encoders: this.encoders,
        signer: options.signer,
        uniqueCoordinator: options.uniqueCoordinator,
        groupStore: options.groupStore,
        tracing: this.tracing ?? false,
      });
    const canvas = new CanvasCoordinator(this.producer, options.groupStore ?? this.producer.groupStore);
    const extensions = new ExtensionChain(this.extensionsOf(canvas), (error) => this.events.emit('worker:error', error));
    this.executors = { [INLINE_EXECUTOR]: new InlineExecutor(this.clock), ...options.executors };
    this.leases = new LeaseKeeper(this.broker, this.clock, this.events);
    this.settlement = new Settlement({
      broker: this.broker,
      backend: this.backend,
      clock: this.clock,
      events: this.events,
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
      events: this.events,
      encoders: this.encoders,
      argsValidator: this.argsValidator,
      signer: options.signer,
      rateLimiter: options.rateLimiter ?? new InMemoryRateLimiterFallback(this.clock),
      executors: this.executors,
      extensions,
      settlement: this.settlement,
      host: this,
    });
  }

  /** Subscribes to the queues and starts taking work. Idempotent. */
  async start(): Promise<void> {
    if (this.consumer) return;
    if (this.closing) throw new Error(`Worker ${this.id} was closed; create a new one`);
    for (const handler of this.registry.list()) this.runner.prepare(handler);
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
      ...this.settlement.counters,
    };
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
      this.escalate?.();
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.fetchAbort.abort();
    this.slotWaiter?.();
    const steps: (() => Promise<unknown>)[] = [
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
      async () => this.consumer?.close(),
      async () => this.leases.close(),
      async () => Promise.all([...new Set(Object.values(this.executors))].map((executor) => executor.close?.())),
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

  /** Waits for running tasks as the close mode says; a stronger `close()` meanwhile takes over. */
  private async drain(): Promise<void> {
    if (this.closeMode === 'warm' && (await this.waitForDrain(Infinity, true))) return;
    if (this.closeMode === 'soft') {
      for (const job of this.running) job.controller.abort(new WorkerShutdownError(this.id, 'soft'));
      if (await this.waitForDrain(this.closeGrace, true)) return;
    }
    await this.abandonRunning();
    // NOTE: only tasks whose result is already stored are left; let them ack.
    await this.waitForDrain(FINISHING_GRACE_MS);
  }

  private async abandonRunning(): Promise<void> {
    const jobs = [...this.running].filter((job) => job.state !== 'finishing');
    for (const job of jobs) {
      abandon(job, new WorkerShutdownError(this.id, 'hard'));
      this.running.delete(job);
      this.leases.drop(job);
    }
    await Promise.all(jobs.map((job) => this.settlement.requeue(job)));
    this.notifyDrain();
  }

  /**
   * Resolves `true` once nothing runs, `false` after `timeout` ms or, when `interruptible`, when a
   * stronger `close()` takes over.
   */
  private waitForDrain(timeout: number, interruptible = false): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (drained: boolean) => {
        timer?.cancel();
        this.drainWaiters.delete(waiter);
        if (this.escalate === interrupt) this.escalate = undefined;
        resolve(drained);
      };
      const waiter = () => done(true);
      const interrupt = () => done(false);
      this.drainWaiters.add(waiter);
      if (interruptible) this.escalate = interrupt;
      if (Number.isFinite(timeout)) timer = this.clock.setTimeout(() => done(false), timeout);
    });
  }

  private notifyDrain(): void {
    if (this.running.size > 0) return;
    for (const resolve of [...this.drainWaiters]) resolve();
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
        await this.backOff(failures);
        continue;
      }
      for (const delivery of deliveries) {
        if (this.stopping) {
          await this.broker.nack(delivery, { requeue: true }).catch((e) => this.events.emit('worker:error', e));
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

  /** Waits after a failed fetch (exponential, capped at 5 s), or until the worker stops. */
  private backOff(failures: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.fetchAbort.signal;
      const onAbort = () => {
        t.cancel();
        resolve();
      };
      const t = this.clock.setTimeout(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.min(5_000, 100 * 2 ** Math.min(failures, 6)),
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency && this.buffer.length > 0 && !this.stopping) {
      const job = this.buffer.shift()!;
      markRunning(job);
      this.running.add(job);
      void this.runner
        .run(job)
        .catch((error) => this.settlement.recover(job, error))
        .finally(() => this.release(job));
    }
  }

  private release(job: Job): void {
    markReleased(job);
    this.leases.drop(job);
    if (!this.running.delete(job)) return;
    this.dispatch();
    this.slotWaiter?.();
    this.notifyDrain();
  }

  /** Built-in extensions first (tracing, canvas, unique locks, `onTerminal` hooks), then the user's. */
  private extensionsOf(canvas: CanvasCoordinator): WorkerExtension[] {
    return [
      ...(this.tracing ? [new TaskTracingExtension(this.tracing, this.id)] : []),
      canvas,
      ...(this.options.uniqueCoordinator ? [uniqueLockExtension(this.options.uniqueCoordinator)] : []),
      ...(this.options.onTerminal ?? []).map(terminalHookExtension),
      ...(this.options.extensions ?? []),
    ];
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
    if (job) await this.leases.renew(delivery, job.leaseMs);
    this.events.emit('task:heartbeat', delivery.envelope);
  }

  /** @internal TaskContextHost */
  async extendLease(delivery: Delivery, ms: number): Promise<void> {
    await this.leases.renew(delivery, ms);
    const job = this.jobOf(delivery);
    if (job) {
      job.leaseMs = ms;
      job.renewAt = this.leases.renewAtFor(delivery, ms);
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
