export * from './task.decorator.js';
export * from './schedule.decorator.js';
