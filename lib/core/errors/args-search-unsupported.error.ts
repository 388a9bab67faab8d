import { StemError } from './stem.error.js';

/** `searchStatuses` was given `argsContain` for a result backend that cannot search task arguments. */
export class ArgsSearchUnsupportedError extends StemError {
  constructor(
    /** Adapter name of the result backend (`redis`, ...). */
    readonly backend: string,
  ) {
    super(
      'STEM_UNSUPPORTED_CAPABILITY',
      `Cannot search task arguments (argsContain): the "${backend}" result backend does not index them; filter by state, queue, name or idPrefix, or use a postgres:// result backend`,
    );
  }
}
