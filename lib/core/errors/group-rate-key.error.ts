import { StemError } from './stem.error.js';

/**
 * A task's `groupRateKey` function threw or returned something other than a string. The delivery
 * is dead-lettered (reason `invalid-rate-key`) without running: the same input would fail again.
 */
export class GroupRateKeyError extends StemError {
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    detail: string,
    cause?: unknown,
  ) {
    super(
      'STEM_GROUP_RATE_KEY',
      `The groupRateKey function of task "${taskName}" ${detail} for task ${taskId}. Make it return a string, or undefined to use the groupRateKeyHeader header; replay the dead letter once fixed.`,
      cause === undefined ? undefined : { cause },
    );
  }
}
