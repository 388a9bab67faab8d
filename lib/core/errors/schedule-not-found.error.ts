import { StemError } from './stem.error.js';

/** No schedule entry has this id. */
export class ScheduleNotFoundError extends StemError {
  constructor(readonly scheduleId: string) {
    super('STEM_SCHEDULE_NOT_FOUND', `Schedule "${scheduleId}" does not exist. Check the id with scheduler.list(), or create it with scheduler.add().`);
  }
}
