export * from './stem-metrics.js';
