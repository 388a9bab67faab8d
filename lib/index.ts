export * from './core/index.js';
export * from './adapters/memory/index.js';
