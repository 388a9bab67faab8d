import { StemError } from './stem.error.js';

/**
 * A store was asked for an optional capability it leaves out (dead-letter admin, broadcast,
 * priorities, transactions). The message names the store, the capability and what needed it.
 */
export class UnsupportedCapabilityError extends StemError {
  constructor(
    /** Adapter name of the store (`memory`, `redis`, `postgres`, ...). */
    readonly adapter: string,
    /** The capability that is missing, e.g. `dead-letter-admin`. */
    readonly capability: string,
    /** What the caller wanted to do with it. */
    readonly action: string,
  ) {
    super(
      'STEM_UNSUPPORTED_CAPABILITY',
      `Cannot ${action}: the "${adapter}" broker has no ${capability} capability; use a store that has it (the memory, redis and postgres brokers have every capability)`,
    );
  }
}
