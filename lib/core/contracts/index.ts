export * from './broker.js';
export * from './result-backend.js';
export * from './lock-store.js';
export * from './rate-limiter.js';
export * from './schedule-store.js';
export * from './producer.js';
export * from './control-store.js';
export * from './queued-publish.js';
