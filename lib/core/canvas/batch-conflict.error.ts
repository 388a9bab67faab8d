import { StemError } from '../errors/stem.error.js';

/**
 * `canvas.submitBatch()` found a live group under the batch id that is not this batch: a plain
 * group or chord, or a batch of a different size. Nothing was enqueued.
 */
export class BatchConflictError extends StemError {
  constructor(
    readonly batchId: string,
    /** Members of the existing group, or `undefined` when it is not a batch. */
    readonly existingSize: number | undefined,
    readonly submittedSize: number,
  ) {
    super(
      'STEM_BATCH_CONFLICT',
      existingSize === undefined
        ? `Batch ${batchId}: a group or chord with this id exists and is not a batch; nothing was enqueued. Use another batchId.`
        : `Batch ${batchId} was submitted before with ${existingSize} tasks, now with ${submittedSize}; nothing was enqueued. A batch id names one fixed set of tasks: submit the same tasks again, or use another batchId.`,
    );
  }
}
