import type { TaskHandler } from './task-handler.js';

/**
 * Validates and transforms task arguments. The producer calls it before publishing; the worker
 * calls it again and passes the returned value to the handler.
 */
export interface TaskArgsValidator {
  /**
   * Returns the arguments to hand to the task (e.g. a DTO instance).
   * @throws InvalidTaskArgsError naming the task and each failed constraint
   */
  validate(handler: TaskHandler, args: unknown): unknown;
}
