import { StemError } from './stem.error.js';

/**
 * The reason `ctx.signal` aborts when the worker shuts down (soft or hard). A task that stops
 * because of it is requeued without using an attempt.
 */
export class WorkerShutdownError extends StemError {
  constructor(
    readonly workerId: string,
    readonly mode: 'soft' | 'hard',
  ) {
    super('STEM_WORKER_SHUTDOWN', `Worker ${workerId} is shutting down (${mode}); the task will be requeued`);
  }
}
