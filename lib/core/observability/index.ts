export * from './stem-metrics.js';
export * from './stem-tracing.js';
export * from './task-tracing.extension.js';
export * from './span-attributes.js';
export * from './trace-headers.js';
export * from './task-logger.js';
