import { StemError } from '../../../core/errors/stem.error.js';

/**
 * The Stem schema could not be created or upgraded: the server is too old, the role lacks a
 * permission, or the schema was written by a newer release. The message says what to do.
 */
export class PostgresMigrationError extends StemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEM_POSTGRES_MIGRATION', message, options);
  }
}
