export * from './in-memory.broker.js';
export * from './in-memory.result-backend.js';
export * from './in-memory.lock-store.js';
export * from './in-memory.rate-limiter.js';
