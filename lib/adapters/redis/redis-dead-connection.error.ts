import { StemError } from '../../core/errors/stem.error.js';

/**
 * A Redis connection stopped answering: a PING, a command or a blocking read got no reply within
 * its bound (a half-open or black-holed path). The message names the connection and the bound; the
 * connection is replaced by itself, and `deadConnectionTimeout` / `commandTimeout` set the bounds.
 */
export class RedisDeadConnectionError extends StemError {
  constructor(
    readonly url: string,
    /** Which connection: `command`, `blocking`, `subscriber`, ... */
    readonly connection: string,
    reason: string,
    /** A command was sent and its reply never came: the server may have run it. */
    readonly outcomeUnknown = false,
  ) {
    super(
      'STEM_REDIS_DEAD_CONNECTION',
      `The Redis ${connection} connection to ${url} looks dead: ${reason}; replacing it (tune deadConnectionTimeout / commandTimeout if the server is just slow)`,
    );
  }
}
