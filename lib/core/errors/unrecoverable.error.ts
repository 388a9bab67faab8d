import { StemError } from './stem.error.js';

/** Throw from a task to fail it at once, without retries. */
export class UnrecoverableError extends StemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEM_UNRECOVERABLE', message, options);
  }
}
