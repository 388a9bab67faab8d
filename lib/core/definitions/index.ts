export * from './task-definition.js';
export * from './task-enqueue-builder.js';
