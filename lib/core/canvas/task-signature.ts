import type { EnqueueOptions, TaskCallSpec, TaskOptions } from '../task-options.js';

/**
 * A task call to make later, typed by its result: the building block of groups, chains and
 * chords. Build one with {@link task} or `definition.signature(args)`.
 */
export interface TaskSignature<TResult = unknown, TArgs = unknown> extends TaskCallSpec {
  readonly name: string;
  readonly args: TArgs;
  readonly options?: EnqueueOptions;
  /** Options of the task (typed definitions set theirs), used when the producer has no handler for it. */
  readonly taskOptions?: TaskOptions;
  /** Type-level marker of the result; never set at runtime. */
  readonly __result?: TResult;
}

/**
 * A typed signature.
 *
 * @example
 * const sig = task<number>('math.add', { a: 1, b: 2 }, { queue: 'math' });
 */
export function task<TResult = unknown, TArgs = unknown>(name: string, args: TArgs, options?: EnqueueOptions): TaskSignature<TResult, TArgs> {
  return { name, args, ...(options ? { options } : {}) };
}
