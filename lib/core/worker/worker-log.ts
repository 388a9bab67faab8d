import type { Worker } from './worker.js';

/** Where {@link logWorkerEvents} writes; Nest's `Logger` and `console` both fit. */
export interface WorkerLogSink {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Logs one line for each task that fails, is retried, is dead-lettered or is cancelled (revoked),
 * and for the start and end of a drain. Returns a function that stops logging.
 *
 * @example
 * const stop = logWorkerEvents(worker, console);
 */
export function logWorkerEvents(worker: Worker, sink: WorkerLogSink): () => void {
  const offs = [
    worker.events.on('task:failed', (env, error) => sink.error(`Task ${env.name} ${env.id} failed on attempt ${env.attempt}: ${error.type}: ${error.message}`)),
    worker.events.on('task:retried', (env, error, delay) =>
      sink.warn(`Task ${env.name} ${env.id} attempt ${env.attempt} failed (${error.type}: ${error.message}); retry in ${delay} ms`),
    ),
    worker.events.on('task:dead-lettered', (env, reason) => sink.warn(`Task ${env.name} ${env.id} dead-lettered on queue ${env.queue}: ${reason}`)),
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
