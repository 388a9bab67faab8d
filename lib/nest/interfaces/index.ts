export * from './stem-module-options.interface.js';
