import { StemError } from './stem.error.js';

/** A running task was stopped from outside (its thread terminated); the attempt failed. */
export class TaskTerminatedError extends StemError {
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    reason?: string,
  ) {
    super('STEM_TASK_TERMINATED', `Task "${taskName}" (${taskId}) was terminated${reason ? `: ${reason}` : ''}`);
  }
}
