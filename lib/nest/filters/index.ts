export * from './stem-exception.filter.js';
