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
 * Logs one line (from the worker's signals) for each task that fails, is retried, is dead-lettered
 * or is cancelled (revoked), for rate-limiter failures (at most one line per 10 s), and for the
 * start and end of a drain. Returns a function that stops logging.
 *
 * @example
 * const stop = logWorkerEvents(worker, console);
 */
export function logWorkerEvents(worker: Worker, sink: WorkerLogSink): () => void {
  const degraded = { loggedAt: -Infinity, suppressed: 0 };
  const { signals } = worker;
  const mine = { filter: { workerId: worker.id } } as const;
  const offs = [
    signals.on('task-failed', ({ envelope: env, error }) => sink.error(`Task ${env.name} ${env.id} failed on attempt ${env.attempt}: ${error.type}: ${error.message}`), mine),
    signals.on(
      'task-retry',
      ({ envelope: env, error, delayMs }) => sink.warn(`Task ${env.name} ${env.id} attempt ${env.attempt} failed (${error.type}: ${error.message}); retry in ${delayMs} ms`),
      mine,
    ),
    signals.on('task-dead-lettered', ({ envelope: env, reason }) => sink.warn(`Task ${env.name} ${env.id} dead-lettered on queue ${env.queue}: ${reason}`), mine),
    signals.on(
      'task-rate-limiter-degraded',
      ({ envelope: env, key, mode, error }) => {
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
      },
      mine,
    ),
    signals.on('task-revoked', ({ envelope: env, error }) => sink.warn(`Task ${env.name} ${env.id} cancelled: ${error.message}`), mine),
    signals.on(
      'worker-stopping',
      ({ mode, active, prefetched }) => sink.log(`Worker ${worker.id} draining (${mode}): ${active} running, ${prefetched} prefetched handed back`),
      mine,
    ),
    signals.on('worker-shutdown', () => sink.log(`Worker ${worker.id} drained and stopped`), mine),
  ];
  return () => {
    for (const off of offs) off();
  };
}
