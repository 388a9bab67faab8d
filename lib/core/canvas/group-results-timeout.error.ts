import { StemError } from '../errors/stem.error.js';

/** `group.results()` waited longer than its `timeout` for the remaining members of a group. */
export class GroupResultsTimeoutError extends StemError {
  constructor(
    readonly groupId: string,
    /** Members yielded before the timeout. */
    readonly finished: number,
    readonly expected: number,
    readonly timeout: number,
  ) {
    super(
      'STEM_GROUP_RESULTS_TIMEOUT',
      `Group ${groupId}: ${finished} of ${expected} members finished within ${timeout} ms; pass a longer { timeout } to results(), or check the workers of its queues.`,
    );
  }
}
