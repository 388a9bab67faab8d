export * from './task.decorator.js';
export * from './schedule.decorator.js';
export * from './workflow.decorator.js';
export * from './step.decorator.js';
export * from './on-queue-event.decorator.js';
export * from './stem-middleware.decorator.js';
