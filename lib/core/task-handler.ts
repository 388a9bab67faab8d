import type { TaskContext } from './task-context.js';
import type { TaskOptions } from './task-options.js';

/** A class usable as a DTO: class-validator decorators on its properties. */
export type ArgsType = new (...args: never[]) => object;

/**
 * Something the worker can run. The Nest layer builds these from `@Task()` methods; without Nest
 * implement it directly.
 *
 * @example
 * const handler: TaskHandler<{ to: string }, boolean> = {
 *   name: 'email.send',
 *   options: { queue: 'emails', maxRetries: 3 },
 *   call: async (ctx, args) => mailer.send(args.to),
 * };
 */
// NOTE: `any` by default so a registry can hold handlers of every args type (`unknown` would
// reject a handler whose `call` takes a narrower type).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface TaskHandler<TArgs = any, TResult = unknown> {
  readonly name: string;
  readonly options?: TaskOptions;
  /** DTO class the arguments are transformed into and validated against. */
  readonly argsType?: ArgsType;
  /** Where the handler comes from (e.g. `EmailTasks.send`), for error messages. */
  readonly source?: string;
  /** Runs one attempt. */
  call(ctx: TaskContext, args: TArgs): Promise<TResult> | TResult;
}

/** Looks up handlers by task name. */
export interface TaskRegistry {
  /** Adds a handler; throws `DuplicateTaskError` on a name clash unless `override` is set. */
  register(handler: TaskHandler, options?: { override?: boolean }): void;
  get(name: string): TaskHandler | undefined;
  list(): readonly TaskHandler[];
}
