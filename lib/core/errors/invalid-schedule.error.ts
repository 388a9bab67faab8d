import { StemError } from './stem.error.js';

/**
 * A schedule definition cannot be used: an unknown kind, a bad cron expression, an unknown time
 * zone, a latitude out of range, an unparsable duration. The message names the schedule and the
 * offending value.
 */
export class InvalidScheduleError extends StemError {
  constructor(
    /** Id of the schedule entry, or `'(unnamed)'` when the spec was checked on its own. */
    readonly scheduleId: string,
    /** What is wrong and how to fix it. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('STEM_INVALID_SCHEDULE', `Schedule "${scheduleId}" is invalid: ${reason}`, options);
  }
}
