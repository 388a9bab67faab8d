import type { Envelope } from '../../envelope.js';

/**
 * Where a thread finds a task's code: the module `file` (absolute path or `file:` URL) and the
 * name of its `export`.
 * - `kind: 'function'` (default): the export is the handler itself, `(args, ctx) => result`.
 * - `kind: 'factory'`: the export is `(data) => Promise<ThreadHandlerLookup>`, called once per
 *   thread (with `data`) to boot what the handlers need, e.g. a Nest application context.
 */
export interface ThreadTarget {
  readonly file: string;
  readonly export: string;
  readonly kind?: 'function' | 'factory';
  /** Passed to a factory; must survive structured clone. */
  readonly data?: unknown;
}

/** A task's code as a thread runs it. */
export type ThreadHandlerFn = (ctx: import('../../task-context.js').TaskContext, args: unknown) => unknown;

/** What a `factory` target resolves to: the handler of a task name, or `undefined` when it has none. */
export type ThreadHandlerLookup = (taskName: string) => ThreadHandlerFn | undefined;

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Class names of its prototype chain, most derived first, down to a built-in error. */
  readonly chain: readonly string[];
  /** Own enumerable fields that survive structured clone (`code`, `status`, ...). */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The read-only part of a task context, copied into the thread. */
export interface ThreadContextInit {
  readonly envelope: Envelope;
  readonly maxRetries: number;
}

/** The `ctx` methods a thread calls back on the worker's side. */
export type ThreadContextMethod = 'heartbeat' | 'extendLease' | 'progress' | 'enqueue' | 'log';

/** Messages from the pool to a thread. */
export type ToThread =
  | { readonly t: 'run'; readonly id: number; readonly task: string; readonly target: ThreadTarget; readonly args: unknown; readonly ctx: ThreadContextInit }
  | { readonly t: 'abort'; readonly id: number; readonly reason: SerializedError }
  | { readonly t: 'reply'; readonly call: number; readonly ok: boolean; readonly value?: unknown; readonly error?: SerializedError };

/** Messages from a thread to the pool. */
export type FromThread =
  | { readonly t: 'started'; readonly id: number }
  | { readonly t: 'call'; readonly id: number; readonly call: number; readonly method: ThreadContextMethod; readonly params: readonly unknown[] }
  | { readonly t: 'done'; readonly id: number; readonly ok: boolean; readonly value?: unknown; readonly error?: SerializedError; readonly heapUsedMb: number };

/** `workerData` of a pool thread. */
export interface ThreadWorkerData {
  readonly stemThread: true;
  /** Targets the thread loads as soon as it starts, so its first task does not pay for the boot. */
  readonly preload: readonly ThreadTarget[];
}
