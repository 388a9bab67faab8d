import { SetMetadata } from '@nestjs/common';
import type { ArgsType } from '../../core/task-handler.js';
import type { TaskOptions } from '../../core/task-options.js';
import { STEM_TASK_METADATA } from '../stem.constants.js';

/** Options of {@link Task}: the task's name, its DTO class, and its {@link TaskOptions}. */
export interface TaskDecoratorOptions extends TaskOptions {
  /** Task name used to enqueue it. @default `<ClassName>.<methodName>` */
  readonly name?: string;
  /**
   * DTO class of the first parameter. @default the parameter's declared type when it is a class
   */
  readonly args?: ArgsType;
}

/**
 * Marks a provider method as a task. The method receives `(args, ctx: TaskContext)`; its return
 * value is the task's result. Discovered at bootstrap; normal DI works in the host class.
 *
 * @example
 * @Injectable()
 * export class EmailTasks {
 *   constructor(private readonly mailer: Mailer) {}
 *
 *   @Task({ name: 'email.send', queue: 'emails', maxRetries: 3 })
 *   async send(args: SendEmailDto, ctx: TaskContext) {
 *     return { delivered: await this.mailer.send(args.to, ctx.signal) };
 *   }
 * }
 */
export function Task(options: TaskDecoratorOptions = {}): MethodDecorator {
  return SetMetadata(STEM_TASK_METADATA, options);
}
