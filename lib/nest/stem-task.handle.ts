import type { Type } from '@nestjs/common';
import type { EnqueueOptions, TaskOptions } from '../core/task-options.js';
import type { TaskResult, WaitOptions } from '../core/task-result.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { TaskDecoratorOptions } from './decorators/task.decorator.js';
import { STEM_TASK_METADATA } from './stem.constants.js';

/** Method names of `C` (the candidates for a task handle). */
export type TaskMethodName<C> = { [K in keyof C]: C[K] extends (...args: never[]) => unknown ? K : never }[keyof C] & string;

/** The first parameter of a `@Task()` method: its arguments. */
export type TaskMethodArgs<C, K extends keyof C> = C[K] extends (args: infer A, ...rest: never[]) => unknown ? A : never;

/** What a `@Task()` method resolves with: its result. */
export type TaskMethodResult<C, K extends keyof C> = C[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Something that can publish and wait, such as the core `Stem` producer. */
export interface TaskHandleProducer {
  enqueue(name: string, args?: unknown, options?: EnqueueOptions, taskOptions?: TaskOptions): Promise<string>;
  waitForTask<TResult>(id: string, options?: WaitOptions): Promise<TaskResult<TResult>>;
}

/**
 * A typed way to call one task: argument and result types come from the `@Task()` method, so
 * renaming or retyping the method breaks callers at compile time, not in production.
 */
export interface TaskHandle<TArgs, TResult> {
  /** The registered task name. */
  readonly name: string;
  /** Enqueues the task; resolves with its id. */
  enqueue(args: TArgs, options?: EnqueueOptions): Promise<string>;
  /** Waits for a task of this kind by id. */
  waitFor(id: string, options?: WaitOptions): Promise<TaskResult<TResult>>;
  /** Enqueues and waits in one call. */
  enqueueAndWait(args: TArgs, options?: EnqueueOptions & WaitOptions): Promise<TaskResult<TResult>>;
}

/** The task name and options a `@Task()` method registers with. */
export function taskOf<C>(host: Type<C>, method: string): { name: string; options: TaskOptions } {
  const fn = (host.prototype as Record<string, unknown>)[method];
  const decorated = typeof fn === 'function' ? (Reflect.getMetadata(STEM_TASK_METADATA, fn) as TaskDecoratorOptions | undefined) : undefined;
  if (!decorated) {
    throw new ConfigurationError('task', `${host.name}.${method} is not a @Task() method; decorate it with @Task() to get a handle for it`);
  }
  const { name, args: _args, ...options } = decorated;
  return { name: name ?? `${host.name}.${method}`, options };
}

/** Builds a {@link TaskHandle} for `host.method` on top of a producer. */
export function createTaskHandle<C, K extends TaskMethodName<C>>(producer: TaskHandleProducer, host: Type<C>, method: K): TaskHandle<TaskMethodArgs<C, K>, TaskMethodResult<C, K>> {
  type R = TaskMethodResult<C, K>;
  // NOTE: the decorator's options travel with every call, so a producer-only app that does not
  // provide the task's class still routes it to the task's queue with its priority and retries.
  const { name, options: taskOptions } = taskOf(host, method);
  return {
    name,
    enqueue: (args, options) => producer.enqueue(name, args, options, taskOptions),
    waitFor: (id, options) => producer.waitForTask<R>(id, options),
    enqueueAndWait: async (args, options = {}) => {
      const { timeout, pollInterval, signal, ...enqueueOptions } = options;
      const id = await producer.enqueue(name, args, enqueueOptions, taskOptions);
      return producer.waitForTask<R>(id, { timeout, pollInterval, signal });
    },
  };
}
