import { StemError } from './stem.error.js';

/** A task asked the thread pool for a thread after (or while) the pool was closing. */
export class ThreadPoolClosedError extends StemError {
  constructor(readonly taskName?: string) {
    super('STEM_THREAD_POOL_CLOSED', `The thread pool is closed${taskName ? `; task "${taskName}" did not run` : ''}`);
  }
}
