import { StemError } from './stem.error.js';

/**
 * The broker no longer holds a lease for this delivery (it lapsed and was redelivered, or the
 * delivery was already settled). The task may be running elsewhere; stop side effects.
 */
export class LeaseLostError extends StemError {
  constructor(
    readonly taskId: string,
    readonly queue: string,
  ) {
    super('STEM_LEASE_LOST', `Lease of task ${taskId} on queue "${queue}" is no longer held; it lapsed or the delivery was settled`);
  }
}
