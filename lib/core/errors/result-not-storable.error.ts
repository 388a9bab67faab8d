import { StemError } from './stem.error.js';

/**
 * A task returned a value its result encoder or backend cannot store (a BigInt, a circular
 * object, ...). The task is failed without retries: running it again would return the same value.
 */
export class ResultNotStorableError extends StemError {
  constructor(
    readonly taskName: string,
    cause: unknown,
  ) {
    super(
      'STEM_RESULT_NOT_STORABLE',
      `Task "${taskName}" returned a result that cannot be stored: ${(cause as Error)?.message ?? cause}. Return JSON-serialisable data, set ignoreResult, or give the task a resultEncoder.`,
      { cause },
    );
  }
}
