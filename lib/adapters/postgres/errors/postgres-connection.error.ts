import { StemError } from '../../../core/errors/stem.error.js';

/**
 * Postgres could not be reached or refused the connection. The message names the URL (password
 * removed) and the driver's reason.
 */
export class PostgresConnectionError extends StemError {
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('STEM_POSTGRES_UNREACHABLE', `Could not connect to Postgres at ${url}: ${reason}. Check that the server is running and the URL, user and database are right.`, options);
  }
}
