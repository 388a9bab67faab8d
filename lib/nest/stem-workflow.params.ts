import type { TaskArgsValidator } from '../core/args-validator.js';
import { InvalidTaskArgsError } from '../core/errors/invalid-task-args.error.js';
import type { ArgsType, TaskHandler } from '../core/task-handler.js';
import { InvalidWorkflowParamsError } from './errors/invalid-workflow-params.error.js';

/**
 * Validates `params` of workflow `workflow` against its DTO with the module's args validator
 * (the class-validator path of task args) and returns what the run should see (a DTO instance).
 * Without a DTO or a validator (`validation: false`) the params pass unchanged.
 *
 * @throws InvalidWorkflowParamsError naming the workflow and every failed constraint
 */
export function validateWorkflowParams(validator: TaskArgsValidator | null, workflow: string, type: ArgsType | undefined, params: unknown): unknown {
  if (!validator || !type) return params;
  const asTask: TaskHandler = { name: workflow, argsType: type, source: type.name, call: () => undefined };
  try {
    return validator.validate(asTask, params);
  } catch (error) {
    if (error instanceof InvalidTaskArgsError) throw new InvalidWorkflowParamsError(workflow, error.violations);
    throw error;
  }
}
