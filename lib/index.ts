export * from './core/index.js';
export * from './adapters/memory/index.js';
export { createStemAdapters, type StemAdapters } from './adapters/stem-adapters.factory.js';
export * from './nest/index.js';
export * from './core/beat/index.js';
export * from './core/observability/index.js';
