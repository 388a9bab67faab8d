export * from './stem-module-options.interface.js';
export * from './stem-thread-options.interface.js';
