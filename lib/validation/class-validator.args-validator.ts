import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync, type ValidatorOptions } from 'class-validator';
import type { TaskArgsValidator } from '../core/args-validator.js';
import { type ArgsViolation, InvalidTaskArgsError } from '../core/errors/invalid-task-args.error.js';
import type { TaskHandler } from '../core/task-handler.js';

function flatten(errors: readonly ValidationError[], parent = ''): ArgsViolation[] {
  const out: ArgsViolation[] = [];
  for (const error of errors) {
    const property = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) out.push({ property, constraints: error.constraints });
    if (error.children?.length) out.push(...flatten(error.children, property));
  }
  return out;
}

/**
 * Validates arguments of tasks whose handler has an `argsType` (a class-validator DTO): plain
 * args are turned into a DTO instance with class-transformer and checked with `validateSync`.
 * Tasks without `argsType` pass through unchanged.
 */
export class ClassValidatorArgsValidator implements TaskArgsValidator {
  /** @param options class-validator options @default { forbidUnknownValues: false } */
  constructor(private readonly options: ValidatorOptions = { forbidUnknownValues: false }) {}

  validate(handler: TaskHandler, args: unknown): unknown {
    const type = handler.argsType;
    if (!type) return args;
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new InvalidTaskArgsError(handler.name, [
        {
          property: '(root)',
          constraints: { isObject: `arguments must be an object matching ${type.name}, got ${args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args}` },
        },
      ]);
    }
    const instance = args instanceof type ? args : plainToInstance(type as new () => object, args);
    const violations = flatten(validateSync(instance, this.options));
    if (violations.length > 0) throw new InvalidTaskArgsError(handler.name, violations);
    return instance;
  }
}
