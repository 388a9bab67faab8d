import { StemError } from './stem.error.js';

function reason(cause: unknown): string {
  return String((cause as Error)?.message ?? cause);
}

/** Publishing to the broker failed before anything was stored; nothing was enqueued. */
export class PublishError extends StemError {
  constructor(
    readonly taskName: string,
    readonly queue: string,
    cause: unknown,
    message?: string,
    code = 'STEM_PUBLISH_FAILED',
  ) {
    super(code, message ?? `Could not publish task "${taskName}" to queue "${queue}": ${reason(cause)}. Check that the broker is reachable; nothing was enqueued.`, { cause });
  }
}

/**
 * The connection to the broker was lost while the publish was in flight (for instance during or
 * just after COMMIT): the task may or may not have been enqueued. Enqueue again with the same
 * `taskId` (the ids are in {@link PublishOutcomeUnknownError.taskIds}): a task that did get
 * enqueued is then published a second time under the same id, and its status never goes back
 * from a terminal state to `queued`. A subclass of {@link PublishError}, so existing
 * `instanceof PublishError` checks still catch it.
 *
 * @example
 * try {
 *   await stem.enqueue('email.send', args, { taskId });
 * } catch (error) {
 *   if (error instanceof PublishOutcomeUnknownError) await stem.enqueue('email.send', args, { taskId: error.taskIds[0] });
 *   else throw error;
 * }
 */
export class PublishOutcomeUnknownError extends PublishError {
  constructor(
    taskName: string,
    queue: string,
    readonly taskIds: readonly string[],
    cause: unknown,
  ) {
    const ids = taskIds.length === 1 ? `id ${taskIds[0]}` : `ids ${taskIds.slice(0, 10).join(', ')}${taskIds.length > 10 ? ', ...' : ''}`;
    super(
      taskName,
      queue,
      cause,
      `Publishing task "${taskName}" to queue "${queue}" was cut off: ${reason(cause)}. The task may have been enqueued under ${ids}; ` +
        'to make sure it runs, enqueue it again with the same taskId (safe: a finished task keeps its final status).',
      'STEM_PUBLISH_OUTCOME_UNKNOWN',
    );
  }
}
