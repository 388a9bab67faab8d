import { StemError } from '../../../core/errors/stem.error.js';

/**
 * Postgres could not be reached or refused the connection. The message names the URL (password
 * removed), the driver's reason and what to check; for a TLS problem (an untrusted server
 * certificate, a missing client certificate, TLS off on the server) it says which option or
 * `STEM_TLS_*` environment variable to set instead.
 */
export class PostgresConnectionError extends StemError {
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    const hint = options?.hint ?? 'Check that the server is running and the URL, user and database are right.';
    super('STEM_POSTGRES_UNREACHABLE', `Could not connect to Postgres at ${url}: ${reason}. ${hint}`, options);
  }
}
