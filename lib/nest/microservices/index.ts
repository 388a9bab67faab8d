export * from './stem-worker.strategy.js';
