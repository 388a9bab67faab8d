export * from './contract-helpers.js';
export * from './broker.contract.js';
export * from './result-backend.contract.js';
export * from './lock-store.contract.js';
export * from './rate-limiter.contract.js';
export * from './schedule-store.contract.js';
export * from './group-store.contract.js';
export * from './workflow-store.contract.js';
