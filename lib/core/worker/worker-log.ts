import type { Worker } from './worker.js';

/** Rate-limiter failures are logged at most once per this many ms. */
const DEGRADED_LOG_INTERVAL_MS = 10_000;

/** Where {@link logWorkerEvents} writes; Nest's `Logger` and `console` both fit. */
export interface WorkerLogSink {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Logs one line for each task that fails, is retried, is dead-lettered or is cancelled (revoked),
 * for rate-limiter failures (at most one line per 10 s), and for the start and end of a drain. Returns a function that stops logging.
 *
 * @example
 * const stop = logWorkerEvents(worker, console);
 */
export function logWorkerEvents(worker: Worker, sink: WorkerLogSink): () => void {
  const degraded = { loggedAt: -Infinity, suppressed: 0 };
  const offs = [
    worker.events.on('task:failed', (env, error) => sink.error(`Task ${env.name} ${env.id} failed on attempt ${env.attempt}: ${error.type}: ${error.message}`)),
    worker.events.on('task:retried', (env, error, delay) =>
      sink.warn(`Task ${env.name} ${env.id} attempt ${env.attempt} failed (${error.type}: ${error.message}); retry in ${delay} ms`),
    ),
    worker.events.on('task:dead-lettered', (env, reason) => sink.warn(`Task ${env.name} ${env.id} dead-lettered on queue ${env.queue}: ${reason}`)),
    worker.events.on('task:rate-limiter-degraded', (env, { key, mode, error }) => {
      // NOTE: an unreachable limiter fails for every task; one line per 10 s says as much.
      const now = Date.now();
      if (now - degraded.loggedAt < DEGRADED_LOG_INTERVAL_MS) return void degraded.suppressed++;
      const more = degraded.suppressed > 0 ? ` (${degraded.suppressed} more failures since the last report)` : '';
      degraded.loggedAt = now;
      degraded.suppressed = 0;
      const reason = error instanceof Error ? error.message : String(error);
      sink.warn(
        `Rate limiter failed for task ${env.name} ${env.id} (key ${key}): ${reason}; ${mode === 'failOpen' ? 'ran it unlimited (failOpen)' : 'delayed it (failClosed)'}${more}`,
      );
    }),
    worker.events.on('task:cancelled', (env, error) => sink.warn(`Task ${env.name} ${env.id} cancelled: ${error.message}`)),
    worker.events.on('worker:draining', ({ mode, active, prefetched }) =>
      sink.log(`Worker ${worker.id} draining (${mode}): ${active} running, ${prefetched} prefetched handed back`),
    ),
    worker.events.on('worker:closed', () => sink.log(`Worker ${worker.id} drained and stopped`)),
  ];
  return () => {
    for (const off of offs) off();
  };
}
