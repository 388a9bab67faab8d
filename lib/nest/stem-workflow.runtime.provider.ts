import type { Provider } from '@nestjs/common';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import type { Stem } from '../core/stem.js';
import { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import { STEM_ADAPTERS, STEM_PRODUCER, STEM_WORKFLOW_METADATA, STEM_WORKFLOW_RUNTIME } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/**
 * Builds the workflow runtime from `options.workflows` on the resolved workflow store, or `null`
 * when workflows are off or no store has one. `ctx.startChild()` accepts `@Workflow()` classes.
 * Definitions are registered as they are discovered; {@link StemWorkflowHost} and the worker
 * host run it.
 */
export const stemWorkflowRuntimeProvider: Provider = {
  provide: STEM_WORKFLOW_RUNTIME,
  inject: [STEM_MODULE_OPTIONS, STEM_ADAPTERS, STEM_PRODUCER],
  useFactory: (options: StemModuleOptions, adapters: StemAdapters, producer: Stem): WorkflowRuntime | null => {
    const config = options.workflows;
    if (config === false || !adapters.workflowStore) return null;
    return new WorkflowRuntime({
      store: adapters.workflowStore,
      producer,
      resolveWorkflowName: (workflow) => (Reflect.getMetadata(STEM_WORKFLOW_METADATA, workflow) as WorkflowDecoratorOptions | undefined)?.name,
      ...(config?.queue !== undefined ? { queue: config.queue } : {}),
      ...(config?.runLeaseDuration !== undefined ? { runLeaseDuration: config.runLeaseDuration } : {}),
      ...(config?.sweepInterval !== undefined ? { sweepInterval: config.sweepInterval } : {}),
    });
  },
};
