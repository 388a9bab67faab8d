import { TaskCancelledError } from './task-cancelled.error.js';

/** A revoked task: it is not run (or, revoked with `terminate`, is stopped) and ends `cancelled`. */
export class TaskRevokedError extends TaskCancelledError {}
