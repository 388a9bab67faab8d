import { StemError } from './stem.error.js';

/**
 * A task's terminal status was stored but its delivery's ack was not confirmed (the ack that
 * followed the status write failed). Nothing is lost: the status stands, and if the ack did not
 * happen the lease lapses and the task is delivered again.
 */
export class AckNotConfirmedError extends StemError {
  constructor(
    readonly taskId: string,
    readonly queue: string,
    cause: unknown,
  ) {
    super(
      'STEM_ACK_NOT_CONFIRMED',
      `The status of task ${taskId} on queue "${queue}" is stored, but its ack failed: ${(cause as Error)?.message ?? cause}. If the ack did not happen, the task is delivered again once its lease lapses.`,
      { cause },
    );
  }
}
