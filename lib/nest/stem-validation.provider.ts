import type { Provider } from '@nestjs/common';
import { ClassValidatorArgsValidator } from '../validation/class-validator.args-validator.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/** Injection token of the args validator (`null` when validation is off). */
export const STEM_ARGS_VALIDATOR = Symbol.for('stem:args-validator');

/** Builds the class-validator args validator from `options.validation`. */
export const stemArgsValidatorProvider: Provider = {
  provide: STEM_ARGS_VALIDATOR,
  inject: [STEM_MODULE_OPTIONS],
  useFactory: (options: StemModuleOptions) => {
    if (options.validation === false) return null;
    return new ClassValidatorArgsValidator(typeof options.validation === 'object' ? options.validation : undefined);
  },
};
