export * from './in-memory.broker.js';
export * from './in-memory.result-backend.js';
export * from './in-memory.lock-store.js';
export * from './in-memory.rate-limiter.js';
export * from './in-memory.schedule-store.js';
export * from './in-memory.group-store.js';
export * from './in-memory.workflow-store.js';
export * from './stem-workflow-app.js';
