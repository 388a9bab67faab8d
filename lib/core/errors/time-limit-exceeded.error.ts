import { StemError } from './stem.error.js';

/** An attempt ran past its hard time limit; the slot was freed and the attempt failed. */
export class TimeLimitExceededError extends StemError {
  constructor(
    readonly taskName: string,
    readonly limitMs: number,
  ) {
    super('STEM_TIME_LIMIT', `Task "${taskName}" exceeded its hard time limit of ${limitMs} ms`);
  }
}
