export * from './canvas.constants.js';
export * from './group-store.js';
export * from './task-signature.js';
export * from './task-call.serializer.js';
export * from './canvas.results.js';
export * from './canvas.js';
export * from './canvas.worker-hook.js';
export * from './chord-claim-pending.error.js';
