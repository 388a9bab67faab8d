import { StemError } from './stem.error.js';

/** A configuration value is wrong; the message names the option and what to do. */
export class ConfigurationError extends StemError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('STEM_CONFIG', `Invalid option "${option}": ${message}`);
  }
}
