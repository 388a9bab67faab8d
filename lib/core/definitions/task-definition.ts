import type { TaskSignature } from '../canvas/task-signature.js';
import type { TaskProducer } from '../contracts/producer.js';
import type { TaskContext } from '../task-context.js';
import type { TaskHandler } from '../task-handler.js';
import type { EnqueueOptions, TaskOptions } from '../task-options.js';
import type { TaskResult, WaitOptions } from '../task-result.js';

/** Descriptive metadata of a task definition. */
export interface TaskDefinitionMetadata {
  readonly description?: string;
  readonly tags?: readonly string[];
  /** Whether running the task twice is harmless. */
  readonly idempotent?: boolean;
}

/** Options of {@link defineTask}: the task's options plus metadata. */
export interface TaskDefinitionOptions extends TaskOptions {
  readonly metadata?: TaskDefinitionMetadata;
}

const ENQUEUE_KEYS = [
  'queue',
  'priority',
  'maxRetries',
  'retryPolicy',
  'visibilityTimeout',
  'softTimeLimit',
  'hardTimeLimit',
  'ignoreResult',
  'unique',
  'uniqueFor',
  'expires',
] as const;

/**
 * A task's name, options and argument/result types in one value that producers and workers
 * share, so a wrong argument shape fails to compile.
 *
 * @example
 * export const sendEmail = defineTask<{ to: string; subject: string }, { delivered: boolean }>('email.send', { queue: 'emails', maxRetries: 3 });
 * // worker side
 * registry.register(sendEmail.handler(async (ctx, args) => mailer.send(args)));
 * // producer side
 * const result = await sendEmail.enqueueAndWait(stem, { to: 'a@b.c', subject: 'Hi' });
 */
export class TaskDefinition<TArgs, TResult> {
  /** Task options (lower precedence than per-call enqueue options). */
  readonly options: TaskOptions;
  readonly metadata: TaskDefinitionMetadata;

  constructor(
    readonly name: string,
    options: TaskDefinitionOptions = {},
  ) {
    const { metadata, ...taskOptions } = options;
    this.options = taskOptions;
    this.metadata = metadata ?? {};
  }

  /** Enqueues with typed args; resolves with the task id. */
  enqueue(stem: TaskProducer, args: TArgs, options?: EnqueueOptions): Promise<string> {
    return stem.enqueue(this.name, args, options, this.options);
  }

  /** Waits for a task of this definition; `value` is typed and decoded. */
  waitFor(stem: TaskProducer, id: string, options?: WaitOptions): Promise<TaskResult<TResult>> {
    if (typeof this.options.resultEncoder === 'object') stem.encoders.register(this.options.resultEncoder);
    return stem.waitForTask<TResult>(id, options);
  }

  /** Enqueues, then waits for the result. */
  async enqueueAndWait(stem: TaskProducer, args: TArgs, options?: EnqueueOptions, wait?: WaitOptions): Promise<TaskResult<TResult>> {
    const id = await this.enqueue(stem, args, options);
    return this.waitFor(stem, id, wait);
  }

  /** A handler for this definition, with its name and options, to register with a worker. */
  handler(run: (ctx: TaskContext, args: TArgs) => Promise<TResult> | TResult, extra: Pick<TaskHandler, 'argsType' | 'source'> = {}): TaskHandler<TArgs, TResult> {
    return { name: this.name, options: this.options, ...extra, call: run };
  }

  /** A canvas signature with typed args and result; the definition's options apply unless `options` override them. */
  signature(args: TArgs, options?: EnqueueOptions): TaskSignature<TResult, TArgs> {
    const defaults: Record<string, unknown> = {};
    for (const key of ENQUEUE_KEYS) if (this.options[key] !== undefined) defaults[key] = this.options[key];
    return { name: this.name, args, options: { ...defaults, ...options }, taskOptions: this.options };
  }
}

/**
 * Declares a typed task.
 *
 * @example
 * const add = defineTask<{ a: number; b: number }, number>('math.add');
 * await add.enqueue(stem, { a: 1, b: 2 });
 * // @ts-expect-error b must be a number
 * await add.enqueue(stem, { a: 1, b: '2' });
 */
export function defineTask<TArgs = void, TResult = unknown>(name: string, options?: TaskDefinitionOptions): TaskDefinition<TArgs, TResult> {
  return new TaskDefinition<TArgs, TResult>(name, options);
}
