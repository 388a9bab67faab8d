export * from './core/index.js';
export * from './adapters/memory/index.js';
export * from './adapters/index.js';
export * from './nest/index.js';
export * from './core/beat/index.js';
export * from './core/observability/index.js';
