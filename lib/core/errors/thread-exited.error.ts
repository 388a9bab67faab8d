import { StemError } from './stem.error.js';

/** The pool thread running a task exited or crashed before the task finished (retried per the task's policy). */
export class ThreadExitedError extends StemError {
  constructor(
    readonly taskName: string,
    readonly threadId: number,
    cause: unknown,
  ) {
    super('STEM_THREAD_EXITED', `The thread ${threadId} running task "${taskName}" exited before the task finished: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
