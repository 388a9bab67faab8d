export * from './envelope-builder.js';
export * from './known-tasks.js';
export * from './publish-outcome.js';
export * from './publisher.js';
export * from './result-waiter.js';
export * from './stem-options.js';
