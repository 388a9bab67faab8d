import type { TaskError } from '../envelope.js';
import { InvalidTaskArgsError } from '../errors/invalid-task-args.error.js';

/** JSON.stringify's errors for values it cannot encode (BigInt, circular structures). */
export function isSerializationError(error: unknown): boolean {
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
