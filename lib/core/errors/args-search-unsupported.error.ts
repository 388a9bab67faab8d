import { StemError } from './stem.error.js';

/**
 * `searchStatuses` was given `argsContain` for a result backend that cannot search task arguments:
 * one that does not index them (Redis), or one built without `recordArgs` (it records none).
 */
export class ArgsSearchUnsupportedError extends StemError {
  constructor(
    /** Adapter name of the result backend (`redis`, ...). */
    readonly backend: string,
    /** Why: the backend does not index arguments, or its `recordArgs` option is off. */
    readonly reason: 'not-indexed' | 'not-recorded' = 'not-indexed',
  ) {
    super(
      'STEM_UNSUPPORTED_CAPABILITY',
      reason === 'not-recorded'
        ? `Cannot search task arguments (argsContain): the "${backend}" result backend records no arguments (it was created with recordArgs: false); leave recordArgs on (the default) to record and search them`
        : `Cannot search task arguments (argsContain): the "${backend}" result backend does not index them; filter by state, queue, name or idPrefix, or use a postgres:// result backend`,
    );
  }
}
