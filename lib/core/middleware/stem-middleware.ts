import type { Envelope } from '../envelope.js';
import type { TaskRun } from '../worker/task-executor.js';

/**
 * One enqueue on its way to the broker, as `onEnqueue` sees it: the composed envelope (args
 * encoded, not yet signed) and its `headers` and `meta`, which a middleware may change before it
 * calls `next()`; the envelope is signed and published with them. Changes made after `next()`
 * are not published.
 */
export interface EnqueueDraft {
  /** The envelope as composed, before any middleware ran. */
  readonly envelope: Envelope;
  /** Headers to publish (string values). */
  readonly headers: Record<string, string>;
  /** Meta to publish. */
  readonly meta: Record<string, unknown>;
}

/**
 * Plain hooks around the life of a task, on the producer (`Stem({ middleware })`) and the worker
 * (`Worker({ middleware })`); every hook is optional.
 *
 * Order: middleware run in the order given. `onEnqueue` and `onExecute` nest, the first
 * middleware outermost (it runs first before `next()` and last after it); `onConsume` and
 * `onError` run one after another in that order. On the worker, middleware run after the
 * worker's own extensions: `onConsume` after admission (signature, expiry, args, rate limit,
 * revocation), `onExecute` innermost around the handler (time limits apply outside it).
 *
 * Errors: a throw in `onEnqueue` rejects that enqueue with a {@link MiddlewareError} naming the
 * middleware (nothing is published); in `onConsume` or `onExecute` it fails that attempt, which
 * is retried per the task's policy (a Stem error such as `UnrecoverableError` is kept as is, so
 * it still means "do not retry"). A throw in `onError` is reported as `worker-error` and the
 * attempt's own error goes on. The worker never stops for a middleware.
 *
 * @example
 * const timing: StemMiddleware = {
 *   name: 'timing',
 *   async onEnqueue(draft, next) {
 *     draft.headers['x-request-id'] ??= randomUUID();
 *     return next();
 *   },
 *   async onExecute(run, next) {
 *     const started = performance.now();
 *     try { return await next(); } finally { run.statusMeta['app.durationMs'] = performance.now() - started; }
 *   },
 * };
 * const stem = new Stem({ broker, backend, middleware: [timing] });
 * const worker = new Worker({ broker, backend, registry, middleware: [timing] });
 */
export interface StemMiddleware {
  /** Names the middleware in errors. @default its class name */
  readonly name?: string;
  /**
   * Wraps publishing one task: change `draft.headers`/`draft.meta`, then call `next()` once and
   * return what it resolves with (the task id). Throw to reject the enqueue.
   */
  onEnqueue?(draft: EnqueueDraft, next: () => Promise<string>): Promise<string>;
  /** A delivery was admitted and is about to run (status `running` not yet written). Throw to fail the attempt. */
  onConsume?(run: TaskRun): void | Promise<void>;
  /** Wraps calling the handler: call `next()` once and return (or rethrow) what it settles with. */
  onExecute?(run: TaskRun, next: () => Promise<unknown>): Promise<unknown>;
  /** The attempt failed with `error` (handler or middleware); called before the retry or dead-letter decision. */
  onError?(run: TaskRun, error: unknown): void | Promise<void>;
}

/** The name a middleware goes by in errors: its `name`, else its class name, else its position. */
export function middlewareName(middleware: StemMiddleware, index: number): string {
  if (typeof middleware.name === 'string' && middleware.name) return middleware.name;
  const className = (middleware as object).constructor?.name;
  return className && className !== 'Object' ? className : `middleware[${index}]`;
}
