import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { TaskArgsValidator } from '../core/args-validator.js';
import { StemScheduler } from '../core/beat/stem-scheduler.js';
import { Canvas } from '../core/canvas/canvas.js';
import { StemMetrics } from '../core/observability/stem-metrics.js';
import { EnvelopeSigner } from '../core/signing/envelope-signer.js';
import { Stem } from '../core/stem.js';
import { UniqueTaskCoordinator } from '../core/unique/unique-task-coordinator.js';
import { SimpleTaskRegistry } from '../core/task-registry.js';
import type { TaskRegistry } from '../core/task-handler.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import { stemAdaptersProvider } from './stem-adapters.provider.js';
import { StemBeatHost } from './stem-beat.host.js';
import { StemMetadataAccessor } from './stem-metadata.accessor.js';
import { StemScheduleDefinitions } from './stem-schedule.definitions.js';
import { STEM_ARGS_VALIDATOR, stemArgsValidatorProvider } from './stem-validation.provider.js';
import { StemControl } from './stem-control.js';
import { StemHealthIndicator } from './stem-health.indicator.js';
import { StemWorkerHost } from './stem-worker.host.js';
import { metricsEnabled, tracingOf } from './stem-telemetry.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { StemWorkflowHost } from './stem-workflow.host.js';
import { stemWorkflowRuntimeProvider } from './stem-workflow.runtime.provider.js';
import { StemClient } from './stem.client.js';
import { STEM_ADAPTERS, STEM_BROKER, STEM_PRODUCER, STEM_RESULT_BACKEND, STEM_TASK_REGISTRY } from './stem.constants.js';
import { StemExplorer } from './stem.explorer.js';
import { StemQueueEventsExplorer } from './stem-queue-events.explorer.js';
import { StemQueueEventsHost } from './stem-queue-events.host.js';
import { QueueEventsProducer } from '../core/queue-events/queue-events.producer.js';
import type { Broker } from '../core/contracts/broker.js';
import { StemMiddlewareExplorer } from './stem-middleware.explorer.js';
import { StemConfigurableModuleClass, STEM_ASYNC_OPTIONS_TYPE, STEM_MODULE_OPTIONS, STEM_OPTIONS_TYPE } from './stem.module-definition.js';
import { callerFile, STEM_MODULE_SOURCE } from './threads/module-source.js';

function signerOf(options: StemModuleOptions): EnvelopeSigner | undefined {
  if (options.signing === false) return undefined;
  if (options.signing instanceof EnvelopeSigner) return options.signing;
  return options.signing ? new EnvelopeSigner(options.signing) : EnvelopeSigner.fromEnv();
}

/**
 * Background jobs for Nest: registers the broker and result backend, discovers `@Task()` and
 * `@Schedule()` methods, `@OnQueueEvent()` handlers and `@Workflow()` classes, provides
 * {@link StemClient}, {@link StemScheduler} and {@link QueueEventsProducer}, runs a worker
 * (unless `worker: false`), the workflow runtime (unless `workflows: false`), Beat (with
 * `beat: true`) and the `@OnQueueEvent()` listeners.
 *
 * @example
 * @Module({
 *   imports: [StemModule.forRoot({ broker: 'memory://', worker: { queues: ['emails'], concurrency: 8 } })],
 *   providers: [EmailTasks, Mailer],
 * })
 * export class AppModule {}
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    StemMetadataAccessor,
    StemExplorer,
    StemMiddlewareExplorer,
    StemWorkerHost,
    StemBeatHost,
    StemScheduleDefinitions,
    StemWorkflowDefinitions,
    StemWorkflowHost,
    stemWorkflowRuntimeProvider,
    StemClient,
    StemControl,
    StemHealthIndicator,
    StemQueueEventsExplorer,
    StemQueueEventsHost,
    { provide: QueueEventsProducer, inject: [STEM_BROKER], useFactory: (broker: Broker) => new QueueEventsProducer(broker) },
    stemArgsValidatorProvider,
    stemAdaptersProvider,
    { provide: STEM_BROKER, inject: [STEM_ADAPTERS], useFactory: (a: StemAdapters) => a.broker },
    { provide: STEM_RESULT_BACKEND, inject: [STEM_ADAPTERS], useFactory: (a: StemAdapters) => a.backend },
    { provide: STEM_TASK_REGISTRY, useFactory: () => new SimpleTaskRegistry() },
    {
      provide: StemScheduler,
      inject: [STEM_ADAPTERS],
      useFactory: (adapters: StemAdapters) => (adapters.scheduleStore ? new StemScheduler({ store: adapters.scheduleStore }) : null),
    },
    {
      provide: STEM_PRODUCER,
      inject: [STEM_MODULE_OPTIONS, STEM_ADAPTERS, STEM_TASK_REGISTRY, STEM_ARGS_VALIDATOR],
      useFactory: (options: StemModuleOptions, adapters: StemAdapters, registry: TaskRegistry, argsValidator: TaskArgsValidator | null) =>
        Stem.fromParts({
          broker: adapters.broker,
          backend: adapters.backend,
          registry,
          remoteTasks: options.remoteTasks,
          allowUnknownTasks: options.allowUnknownTasks,
          defaults: options.defaults,
          argsValidator,
          resultTtl: options.resultTtl,
          signer: signerOf(options),
          encoders: options.encoders,
          uniqueCoordinator: new UniqueTaskCoordinator({
            lockStore: adapters.lockStore,
            ...(options.uniqueDefaultTtl !== undefined ? { defaultTtl: options.uniqueDefaultTtl } : {}),
            ...(metricsEnabled(options) ? { metrics: new StemMetrics() } : {}),
          }),
          groupStore: adapters.groupStore,
          tracing: tracingOf(options) ?? false,
          routing: options.routing,
          signals: options.signals,
        }),
    },
    { provide: Canvas, inject: [STEM_PRODUCER], useFactory: (producer: Stem) => new Canvas(producer) },
  ],
  exports: [
    Canvas,
    QueueEventsProducer,
    StemQueueEventsHost,
    StemClient,
    StemControl,
    StemHealthIndicator,
    StemWorkerHost,
    StemWorkflowHost,
    StemBeatHost,
    StemScheduler,
    STEM_BROKER,
    STEM_RESULT_BACKEND,
    STEM_TASK_REGISTRY,
    STEM_PRODUCER,
  ],
})
export class StemModule extends StemConfigurableModuleClass {
  /** Configures Stem; the calling file is recorded as the module pool threads boot (see `worker.threads.module`). */
  static forRoot(options: typeof STEM_OPTIONS_TYPE): DynamicModule {
    return withModuleSource(super.forRoot(options), callerFile());
  }

  /** Configures Stem from injected providers; the calling file is recorded as for `forRoot`. */
  static forRootAsync(options: typeof STEM_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withModuleSource(super.forRootAsync(options), callerFile());
  }
}

function withModuleSource(definition: DynamicModule, file: string | undefined): DynamicModule {
  return { ...definition, providers: [...(definition.providers ?? []), { provide: STEM_MODULE_SOURCE, useValue: file ?? null }] };
}
