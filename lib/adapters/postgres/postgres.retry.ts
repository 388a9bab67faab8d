/**
 * Which Postgres failures may be retried, and the retry loop the adapters share. Kept apart from
 * the connection code so the migrator, which that code runs, can use it too.
 */
const TRANSIENT_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  '40001',
  '40P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * True for errors a retry may cure: the connection died or was refused, the server is starting
 * or shutting down, a serialization failure or deadlock.
 */
export function isTransientError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (e?.code && TRANSIENT_CODES.has(e.code)) return true;
  const message = e?.message ?? '';
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable|Query read timeout/i.test(message);
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', '57P03', '53300', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * True for failures that happen before a statement reaches the server (refused or impossible
 * connections), which makes even a non-idempotent statement safe to retry.
 */
export function isNotSentError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return Boolean(e?.code && NOT_SENT_CODES.has(e.code)) || /timeout exceeded when trying to connect/i.test(e?.message ?? '');
}

/** A deadlock (40P01) or serialization failure (40001): the statement was rolled back and may be sent again. */
export function isLockConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs an operation, retrying failures `retryable` accepts (by default: transient ones, so only
 * use the default for idempotent work) with backoff for up to `budgetMs`. Other errors and the
 * last retryable one are rethrown.
 */
export async function retryTransient<T>(run: () => Promise<T>, budgetMs = 10_000, retryable: (error: unknown) => boolean = isTransientError): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let delay = 50;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!retryable(error) || Date.now() + delay > deadline) throw error;
      // NOTE: a ref'd timer: while every connection is down, a pending retry is what keeps a worker alive.
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(1_000, delay * 2);
    }
  }
}
