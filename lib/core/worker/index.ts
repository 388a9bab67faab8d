export * from './worker.js';
export * from './worker.events.js';
export * from './worker.options.js';
export * from './worker-stats.js';
export * from './worker-extension.js';
export * from './task-outcome.js';
export * from './task-executor.js';
export * from './inline-executor.js';
export { PIPELINE_ERROR_REASON } from './pipeline-failures.js';
