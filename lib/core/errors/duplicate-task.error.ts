import { StemError } from './stem.error.js';

/** Two handlers claim the same task name. */
export class DuplicateTaskError extends StemError {
  constructor(
    readonly taskName: string,
    existing?: string,
    incoming?: string,
  ) {
    const where = existing || incoming ? ` (${existing ?? 'unknown'} and ${incoming ?? 'unknown'})` : '';
    super('STEM_DUPLICATE_TASK', `Task "${taskName}" is registered twice${where}. Task names must be unique; rename one of them.`);
  }
}
