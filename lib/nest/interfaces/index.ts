export * from './stem-module-options.interface.js';
export * from './stem-thread-options.interface.js';
export * from './stem-health-options.interface.js';
export * from './stem-health-result.interface.js';
