export * from './thread-executor.js';
export * from './thread-pool.js';
export * from './thread-task.js';
export type { ThreadTarget, ThreadHandlerFn, ThreadHandlerLookup, SerializedError } from './thread-protocol.js';
export { serializeError, reviveError } from './thread-errors.js';
export { isStemThread } from './thread-marker.js';
