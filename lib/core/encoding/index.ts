export * from './task-payload-encoder.js';
export * from './encoder-registry.js';
