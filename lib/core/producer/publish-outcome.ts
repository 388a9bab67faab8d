import { StemError } from '../errors/stem.error.js';

/** Error codes of failures that happen before a request reaches the store. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);
/** SQLSTATE classes that mean the connection, the server or the session died mid-request. */
const LOST_SQLSTATE_CLASSES = new Set(['08', '57', '58', 'XX']);
/** A statement cancelled (e.g. by statement_timeout) is rolled back. */
const ROLLED_BACK_SQLSTATES = new Set(['57014']);

/**
 * Whether a failed publish certainly stored nothing. Only positive evidence counts: an error the
 * adapter raised before any I/O (a {@link StemError}, e.g. a closed broker, unless it says
 * `outcomeUnknown: true`: a request sent whose reply never came), a connection that was
 * never made, or an error the store answered with (a SQL error outside the connection classes, a
 * Redis error reply). Anything else, above all a connection lost while the request was in flight,
 * may have stored the task (a COMMIT that went through before its answer was lost).
 */
export function publishCertainlyFailed(error: unknown): boolean {
  // NOTE: an adapter marks its own error `outcomeUnknown` when the request was sent but its reply never came.
  if (error instanceof StemError) return (error as { outcomeUnknown?: unknown }).outcomeUnknown !== true;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; severity?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NOT_SENT_CODES.has(code)) return true;
  if (typeof e?.message === 'string' && /timeout exceeded when trying to connect/i.test(e.message)) return true;
  // NOTE: a server error carries a SQLSTATE and a severity; the statement it answers did not commit
  // unless the session itself died (connection, shutdown, crash classes).
  if (code && typeof e?.severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) return ROLLED_BACK_SQLSTATES.has(code) || !LOST_SQLSTATE_CLASSES.has(code.slice(0, 2));
  return e?.name === 'ReplyError';
}
