import { StemError } from './stem.error.js';

/** Thrown by `ctx.retry()` to ask the worker for another attempt. */
export class TaskRetryRequest extends StemError {
  constructor(
    readonly countdown?: number,
    readonly reason?: string,
  ) {
    super('STEM_RETRY', reason ?? 'Task asked to be retried');
  }
}
