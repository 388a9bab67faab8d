import { StemError } from './stem.error.js';

/** One failed validation constraint of a task argument. */
export interface ArgsViolation {
  /** Property path, e.g. `to` or `items.0.sku`. */
  readonly property: string;
  /** Failed constraints by name, with their messages. */
  readonly constraints: Readonly<Record<string, string>>;
}

/**
 * Task arguments failed validation. Thrown by `enqueue` before anything is published; inside a
 * worker it fails the task at once (no retry) and dead-letters it with reason `invalid-args`.
 */
export class InvalidTaskArgsError extends StemError {
  constructor(
    readonly taskName: string,
    readonly violations: readonly ArgsViolation[],
  ) {
    const details = violations.map((v) => `${v.property}: ${Object.values(v.constraints).join('; ')}`).join(', ');
    super('STEM_INVALID_TASK_ARGS', `Invalid arguments for task "${taskName}": ${details}. Fix the arguments to match the task's DTO.`);
  }
}
