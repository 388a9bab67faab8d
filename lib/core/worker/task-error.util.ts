import type { TaskError } from '../envelope.js';
import { InvalidTaskArgsError } from '../errors/invalid-task-args.error.js';
import { StatusNotStorableError } from '../errors/status-not-storable.error.js';

/**
 * A status write the backend cannot store ({@link StatusNotStorableError}), or JSON.stringify's
 * errors for values it cannot encode (BigInt, circular structures, nesting too deep for the stack).
 */
export function isSerializationError(error: unknown): boolean {
  if (error instanceof StatusNotStorableError) return true;
  if (error instanceof RangeError) return /call stack/i.test(error.message);
  return error instanceof TypeError && /BigInt|circular|serialize|Converting/i.test(error.message);
}

/** The stored form of an error; invalid args keep their violations in `meta`. */
export function toTaskError(error: unknown, retryable: boolean, meta?: Record<string, unknown>): TaskError {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    type: e.name || e.constructor?.name || 'Error',
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    retryable,
    ...(meta ? { meta } : e instanceof InvalidTaskArgsError ? { meta: { violations: e.violations } } : {}),
  };
}
