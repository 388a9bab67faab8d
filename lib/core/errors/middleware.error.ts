import { StemError } from './stem.error.js';

/** The middleware hook that failed. */
export type MiddlewareHook = 'onEnqueue' | 'onConsume' | 'onExecute' | 'onError';

/**
 * A middleware threw. From `onEnqueue` it rejects that enqueue (nothing is published); from
 * `onConsume` or `onExecute` it fails that attempt, which is retried per the task's policy. The
 * original error is the `cause`.
 */
export class MiddlewareError extends StemError {
  constructor(
    /** The middleware's name (its `name`, else its class name). */
    readonly middleware: string,
    readonly hook: MiddlewareHook,
    readonly task: string,
    readonly queue: string,
    cause: unknown,
  ) {
    const reason = (cause as Error)?.message ?? String(cause);
    const what = hook === 'onEnqueue' ? `rejected the enqueue of task "${task}" on queue "${queue}"` : `failed the attempt of task "${task}" on queue "${queue}"`;
    super('STEM_MIDDLEWARE', `Middleware "${middleware}" ${what} in ${hook}: ${reason}. Fix or catch the error inside the middleware if it should not stop the task`, { cause });
  }
}
