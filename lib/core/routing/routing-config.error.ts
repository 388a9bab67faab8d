import { StemError } from '../errors/stem.error.js';

/**
 * A routing config is malformed or inconsistent. Thrown when the config is loaded (the producer's
 * or the worker's construction, the module's bootstrap), never at the first enqueue. `field` is
 * the path at fault (`routes[2].target.name`), and the message says how to fix it.
 */
export class RoutingConfigError extends StemError {
  constructor(
    /** Path of the field at fault, e.g. `queues.reports.priorityRange` or `routes[1].match.task`. */
    readonly field: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super('STEM_ROUTING_CONFIG', `Invalid routing config at ${field}: ${problem}`, options);
  }
}
