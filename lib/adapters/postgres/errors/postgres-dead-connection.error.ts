import { StemError } from '../../../core/errors/stem.error.js';

/**
 * A Postgres connection stopped answering within its bound (a half-open or black-holed path): the
 * message names the connection, the URL (password removed) and the bound. The connection is
 * replaced by itself; `deadConnectionTimeout` and `queryTimeout` set the bounds.
 */
export class PostgresDeadConnectionError extends StemError {
  constructor(
    readonly url: string,
    /** Which connection, e.g. `LISTEN`. */
    readonly connection: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      'STEM_POSTGRES_DEAD_CONNECTION',
      `The Postgres ${connection} connection to ${url} looks dead: ${reason}; replacing it (tune deadConnectionTimeout / queryTimeout if the server is just slow)`,
      options,
    );
  }
}
