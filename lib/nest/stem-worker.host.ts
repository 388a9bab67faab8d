import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import type { TaskArgsValidator } from '../core/args-validator.js';
import type { Stem } from '../core/stem.js';
import type { TaskRegistry } from '../core/task-handler.js';
import { StemMetrics } from '../core/observability/stem-metrics.js';
import { isStemThread } from '../core/worker/threads/thread-marker.js';
import { Worker } from '../core/worker/worker.js';
import { logWorkerEvents } from '../core/worker/worker-log.js';
import { hasBroadcast } from '../core/contracts/broker.js';
import { BroadcastControlChannel } from '../core/control/broadcast-control-channel.js';
import { WorkerControl } from '../core/control/worker-control.js';
import { workerSubscriptionFromEnv } from '../core/routing/worker-subscription.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import { STEM_ARGS_VALIDATOR } from './stem-validation.provider.js';
import { metricsEnabled, nestTaskLogSink } from './stem-telemetry.js';
import type { WorkerExtension } from '../core/worker/worker-extension.js';
import type { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { STEM_ADAPTERS, STEM_PRODUCER, STEM_TASK_REGISTRY, STEM_WORKFLOW_RUNTIME } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';
import { STEM_MODULE_SOURCE } from './threads/module-source.js';
import { createNestThreadExecutor } from './threads/nest-thread-executor.js';

/**
 * Runs the worker of a Stem module: starts it once the app has bootstrapped (after every
 * `@Task()` was discovered), drains it as soon as shutdown begins (Stem's `onModuleDestroy`),
 * then closes the adapters it created in `onApplicationShutdown`.
 * Inject it to reach the worker; its signals are `StemClient.signals` (`host.worker?.signals`).
 */
@Injectable()
export class StemWorkerHost implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Stem');
  private current?: Worker;
  private control?: WorkerControl;
  private stopMetrics?: () => void;
  private stopLogging?: () => void;
  private shutdownByControl = false;

  constructor(
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Inject(STEM_ADAPTERS) private readonly adapters: StemAdapters,
    @Inject(STEM_TASK_REGISTRY) private readonly registry: TaskRegistry,
    @Inject(STEM_PRODUCER) private readonly producer: Stem,
    @Inject(STEM_ARGS_VALIDATOR) private readonly argsValidator: TaskArgsValidator | null,
    @Optional() @Inject(STEM_MODULE_SOURCE) private readonly moduleSource: string | null = null,
    @Optional() @Inject(STEM_WORKFLOW_RUNTIME) private readonly workflowRuntime: WorkflowRuntime | null = null,
    @Optional() @Inject(StemWorkflowDefinitions) private readonly workflows: StemWorkflowDefinitions | null = null,
  ) {}

  /** The running worker, or `undefined` for producer-only apps (`worker: false`). */
  get worker(): Worker | undefined {
    return this.current;
  }

  async onApplicationBootstrap(): Promise<void> {
    const config = this.options.worker;
    // NOTE: a pool thread boots the app only for its providers; the worker runs on the main thread.
    if (config === false || isStemThread()) return;
    const threads = createNestThreadExecutor(config?.threads, this.registry, this.moduleSource);
    const store = this.adapters.revokeStore;
    const control = store
      ? new WorkerControl({
          store,
          ...(hasBroadcast(this.adapters.broker) ? { channel: new BroadcastControlChannel(this.adapters.broker) } : {}),
          ...(config?.heartbeatInterval !== undefined ? { heartbeatInterval: config.heartbeatInterval } : {}),
          ...(config?.terminateGracePeriod !== undefined ? { terminateGracePeriod: config.terminateGracePeriod } : {}),
        })
      : undefined;
    // NOTE: only an app that defines workflows runs their run tasks: a worker without the
    // definitions would fail every run it took from a shared queue as an unknown workflow.
    const runtime = this.workflowRuntime && this.workflows?.size ? this.workflowRuntime : undefined;
    if (runtime && !this.registry.get(runtime.taskHandler.name)) this.registry.register(runtime.taskHandler);
    const extensions: WorkerExtension[] = [...(control ? [control.extension] : []), ...(runtime ? [runtime.workerExtension] : []), ...(config?.extensions ?? [])];
    const named = config?.queues?.length ? config.queues : workerSubscriptionFromEnv().queues;
    const queues = named?.length && runtime ? [...new Set([...named, runtime.queue])] : named;
    const worker = new Worker({
      broker: this.adapters.broker,
      backend: this.adapters.backend ?? undefined,
      registry: this.registry,
      rateLimiter: this.adapters.rateLimiter,
      producer: this.producer,
      ...(this.producer.signer ? { signer: this.producer.signer } : {}),
      ...(this.producer.uniqueCoordinator ? { uniqueCoordinator: this.producer.uniqueCoordinator } : {}),
      ...(this.producer.groupStore ? { groupStore: this.producer.groupStore } : {}),
      defaults: this.options.defaults,
      resultTtl: this.options.resultTtl,
      ...(this.argsValidator ? { argsValidator: this.argsValidator } : {}),
      ...(queues ? { queues } : {}),
      ...(config?.broadcasts ? { broadcasts: config.broadcasts } : {}),
      ...(extensions.length ? { extensions } : {}),
      middleware: this.producer.middleware,
      ...(config?.concurrency !== undefined ? { concurrency: config.concurrency } : {}),
      ...(config?.prefetch !== undefined ? { prefetch: config.prefetch } : {}),
      ...(config?.id ? { id: config.id } : {}),
      ...(config?.shutdownGracePeriod !== undefined ? { softShutdownGracePeriod: config.shutdownGracePeriod } : {}),
      ...(config?.autoscale ? { autoscale: config.autoscale } : {}),
      ...(threads ? { executors: { thread: threads } } : {}),
      tracing: this.producer.tracing ?? false,
      taskLogSink: nestTaskLogSink,
    });
    const mine = { filter: { workerId: worker.id } };
    const offScaled = worker.signals.on('worker-scaled', (s) => this.logger.log(`Worker ${worker.id} scaled ${s.from} -> ${s.to} (${s.reason}, ${s.pending} pending)`), mine);
    threads?.events.on('thread:replaced', (t) => {
      const line = `Thread ${t.threadId} replaced (${t.reason}) after ${t.tasks} tasks`;
      if (t.reason === 'time-limit' || t.reason === 'crashed') this.logger.warn(line);
      else this.logger.log(line);
    });
    const offError = worker.signals.on('worker-error', ({ error }) => this.logger.error(`Worker error: ${(error as Error)?.message ?? error}`, (error as Error)?.stack), mine);
    if (this.registry.list().length === 0) {
      this.logger.warn(
        'The worker found no @Task() methods; it consumes its queues but every delivery will be dead-lettered as unregistered-task. Set worker: false for a producer-only app.',
      );
    }
    if (metricsEnabled(this.options)) {
      const metrics = new StemMetrics();
      const stops = [metrics.instrumentWorker(worker, this.adapters.broker), ...(threads ? [metrics.instrumentThreadPool(threads, worker.id)] : [])];
      this.stopMetrics = () => stops.forEach((stop) => stop());
    }
    const stopLog = logWorkerEvents(worker, this.logger);
    this.stopLogging = () => [offScaled, offError, stopLog].forEach((off) => off());
    try {
      if (control) {
        control.events.on('error', (error) => this.logger.warn(`Worker control: ${(error as Error)?.message ?? error}`));
        control.events.on('shutdown', (mode) => this.onControlShutdown(worker, mode));
        await control.start(worker);
        this.control = control;
      }
      await worker.start();
    } catch (error) {
      // NOTE: a store down at boot: release what was set up (thread pool, hooks) before failing the bootstrap.
      await control?.stop().catch(() => undefined);
      await worker.close({ mode: 'hard' }).catch(() => undefined);
      this.stopMetrics?.();
      this.stopLogging?.();
      this.control = undefined;
      throw error;
    }
    this.current = worker;
    this.logger.log(`Worker ${worker.id} consuming [${worker.queues.join(', ')}] with concurrency ${worker.concurrency} on ${this.adapters.broker.name}`);
  }

  /** Starts draining as early as Nest lets this module: stop fetching, wait for running tasks. */
  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  /** Drains the worker now (idempotent); `app.close()` does it too. */
  async drain(): Promise<void> {
    const config = this.options.worker || {};
    await this.current?.close({
      mode: config.shutdownMode ?? 'warm',
      ...(config.shutdownGracePeriod !== undefined ? { gracePeriod: config.shutdownGracePeriod } : {}),
    });
    await this.control?.stop();
    this.stopMetrics?.();
    this.stopLogging?.();
  }

  /** A control `shutdown` closes the worker; once drained, the app closes as SIGTERM would. */
  private onControlShutdown(worker: Worker, mode: string): void {
    if (this.shutdownByControl) return;
    this.shutdownByControl = true;
    this.logger.log(`Worker ${worker.id} got a control shutdown (${mode})`);
    if (this.options.worker && this.options.worker.closeAppOnShutdown === false) return;
    worker.signals.once(
      'worker-shutdown',
      () => {
        if (process.listenerCount('SIGTERM') === 0) this.logger.warn('No SIGTERM handler: the process exits now; call app.enableShutdownHooks() so Nest closes the app first');
        process.kill(process.pid, 'SIGTERM');
      },
      { filter: { workerId: worker.id } },
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.adapters.close();
  }
}
