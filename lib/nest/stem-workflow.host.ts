import { isStemThread } from '../core/worker/threads/thread-marker.js';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import { StemWorkerHost } from './stem-worker.host.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { STEM_WORKFLOW_RUNTIME } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/**
 * Runs the workflow runtime of a Stem module. Run tasks execute in the module's worker (the
 * worker host gives it the runtime's task handler and extension); this host starts the due-run
 * sweeper once the app has bootstrapped and, at shutdown, closes the runtime after the worker
 * drained (a running step finishes and is checkpointed first).
 * Inject it to listen to runtime events: `host.runtime?.events.on('run:completed', ...)`.
 */
@Injectable()
export class StemWorkflowHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Stem');
  private closing?: Promise<void>;

  constructor(
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Optional() @Inject(STEM_WORKFLOW_RUNTIME) private readonly current: WorkflowRuntime | null,
    private readonly definitions: StemWorkflowDefinitions,
    private readonly workerHost: StemWorkerHost,
  ) {}

  /** The workflow runtime, or `null` with `workflows: false`. */
  get runtime(): WorkflowRuntime | null {
    return this.current ?? null;
  }

  onApplicationBootstrap(): void {
    const names = this.definitions.list().map((e) => `${e.source} ("${e.definition.name}")`);
    if (!this.current) {
      if (names.length === 0) return;
      if (this.options.workflows === false) {
        this.logger.warn(`workflows: false, so the @Workflow() classes ${names.join(', ')} are not run; remove workflows: false to run them.`);
        return;
      }
      throw new ConfigurationError(
        'workflows.store',
        `the broker's store has no workflow store, so the @Workflow() classes ${names.join(', ')} cannot run; give workflows.store a URL or instance of a store that has one (memory://)`,
      );
    }
    // NOTE: a pool thread boots the app only for its providers; the main thread's runtime sweeps.
    if (this.options.worker === false || names.length === 0 || isStemThread()) return;
    this.current.startSweeper();
    this.logger.log(`Workflows ${names.join(', ')} run on queue "${this.current.queue}"`);
  }

  /** Closes the runtime once the worker drained (idempotent); `app.close()` does it. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.workerHost.drain();
      await this.current?.close();
    })();
    await this.closing;
  }
}
