import { StemError } from './stem.error.js';

/**
 * A result backend cannot store one status write (a BigInt or a circular value in its payload,
 * error or meta, a value nested too deep to encode, or text the store refuses such as U+0000 in
 * Postgres). Only that write fails; the writes batched with it are stored. A worker records the
 * task as failed with the dead-letter reason `result-not-storable`.
 */
export class StatusNotStorableError extends StemError {
  constructor(
    readonly taskId: string,
    readonly backend: string,
    cause: unknown,
  ) {
    super(
      'STEM_STATUS_NOT_STORABLE',
      `The ${backend} result backend cannot store the status of task ${JSON.stringify(taskId)}: ${(cause as Error)?.message ?? String(cause)}. Store JSON-serialisable data without BigInts or cycles (and, on Postgres, without U+0000 or lone surrogates).`,
      { cause },
    );
  }
}
