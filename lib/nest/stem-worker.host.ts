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
import { Worker } from '../core/worker/worker.js';
import type { WorkerExtension } from '../core/worker/worker-extension.js';
import type { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import { STEM_ARGS_VALIDATOR } from './stem-validation.provider.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { STEM_ADAPTERS, STEM_PRODUCER, STEM_TASK_REGISTRY, STEM_WORKFLOW_RUNTIME } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/**
 * Runs the worker of a Stem module: starts it once the app has bootstrapped (after every
 * `@Task()` was discovered), drains it as soon as shutdown begins (Stem's `onModuleDestroy`),
 * then closes the adapters it created in `onApplicationShutdown`.
 * Inject it to listen to worker events: `host.worker?.events.on('task:failed', ...)`.
 */
@Injectable()
export class StemWorkerHost implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Stem');
  private current?: Worker;
  private stopMetrics?: () => void;

  constructor(
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Inject(STEM_ADAPTERS) private readonly adapters: StemAdapters,
    @Inject(STEM_TASK_REGISTRY) private readonly registry: TaskRegistry,
    @Inject(STEM_PRODUCER) private readonly producer: Stem,
    @Inject(STEM_ARGS_VALIDATOR) private readonly argsValidator: TaskArgsValidator | null,
    @Optional() @Inject(STEM_WORKFLOW_RUNTIME) private readonly workflowRuntime: WorkflowRuntime | null = null,
    @Optional() @Inject(StemWorkflowDefinitions) private readonly workflows: StemWorkflowDefinitions | null = null,
  ) {}

  /** The running worker, or `undefined` for producer-only apps (`worker: false`). */
  get worker(): Worker | undefined {
    return this.current;
  }

  async onApplicationBootstrap(): Promise<void> {
    const config = this.options.worker;
    if (config === false) return;
    // NOTE: only an app that defines workflows runs their run tasks: a worker without the
    // definitions would fail every run it took from a shared queue as an unknown workflow.
    const runtime = this.workflowRuntime && this.workflows?.size ? this.workflowRuntime : undefined;
    if (runtime && !this.registry.get(runtime.taskHandler.name)) this.registry.register(runtime.taskHandler);
    const extensions: WorkerExtension[] = [...(runtime ? [runtime.workerExtension] : []), ...(config?.extensions ?? [])];
    const queues = config?.queues?.length && runtime ? [...new Set([...config.queues, runtime.queue])] : config?.queues;
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
      ...(extensions.length ? { extensions } : {}),
      ...(config?.concurrency !== undefined ? { concurrency: config.concurrency } : {}),
      ...(config?.prefetch !== undefined ? { prefetch: config.prefetch } : {}),
      ...(config?.id ? { id: config.id } : {}),
      ...(config?.shutdownGracePeriod !== undefined ? { softShutdownGracePeriod: config.shutdownGracePeriod } : {}),
    });
    worker.events.on('worker:error', (error) => this.logger.error(`Worker error: ${(error as Error)?.message ?? error}`, (error as Error)?.stack));
    if (this.registry.list().length === 0) {
      this.logger.warn(
        'The worker found no @Task() methods; it consumes its queues but every delivery will be dead-lettered as unregistered-task. Set worker: false for a producer-only app.',
      );
    }
    if (this.options.telemetry !== false) this.stopMetrics = new StemMetrics().instrumentWorker(worker, this.adapters.broker);
    await worker.start();
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
    this.stopMetrics?.();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.adapters.close();
  }
}
