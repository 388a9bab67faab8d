export * from './unique.constants.js';
export * from './unique-key.js';
export * from './unique-task-coordinator.js';
