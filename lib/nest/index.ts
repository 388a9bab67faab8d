// The Nest layer's public surface. `StemWorkerStrategy` is in `nestjs-stem/microservices` so
// this entry never needs `@nestjs/microservices`.
export * from './interfaces/index.js';
export * from './decorators/index.js';
export * from './filters/index.js';
export * from './errors/index.js';
export { STEM_BROKER, STEM_RESULT_BACKEND } from './stem.constants.js';
export type { StemModuleExtras } from './stem.module-definition.js';
export * from './stem.module.js';
export * from './stem.client.js';
export * from './stem-control.js';
export * from './stem-health.indicator.js';
export * from './stem-worker.host.js';
export * from './stem-workflow.host.js';
export { StemWorkflows, workflowNameOf } from './stem-workflows.client.js';
export type { FlowParamsOf, StartWorkflowArgs, WorkflowClass, WorkflowClassParams, WorkflowClassResult, WorkflowRunId } from './stem-workflow.types.js';
export type { TaskHandle, TaskMethodArgs, TaskMethodName, TaskMethodResult } from './stem-task.handle.js';
export * from './stem-beat.host.js';
export * from './stem-queue-events.host.js';
export type { QueueEventHandlerDefinition } from './stem-queue-events.explorer.js';
