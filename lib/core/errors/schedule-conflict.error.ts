import { StemError } from './stem.error.js';

/**
 * A schedule entry was changed by someone else (another Beat replica, the CLI, another process)
 * between reading it and writing it back. Re-read the entry and apply the change again.
 */
export class ScheduleConflictError extends StemError {
  constructor(
    readonly scheduleId: string,
    /** The version the writer expected (`0`: the entry must not exist yet). */
    readonly expectedVersion: number,
    /** The stored version, or `null` when the entry does not exist. */
    readonly actualVersion: number | null,
  ) {
    super(
      'STEM_SCHEDULE_CONFLICT',
      `Schedule "${scheduleId}" was modified concurrently: expected version ${expectedVersion}, found ${actualVersion ?? 'no entry'}. Re-read the entry with get() and retry the change.`,
    );
  }
}
