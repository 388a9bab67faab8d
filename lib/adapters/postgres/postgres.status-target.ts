import type { ResultBackend } from '../../core/contracts/result-backend.js';
import type { PostgresContext } from './postgres.connection.js';

/** What a broker needs to write a result backend's statuses in its own statements. */
export interface PostgresStatusTarget {
  /** The backend's context; folding needs the broker on the very same pool. */
  readonly ctx: PostgresContext;
  /** TTL of statuses written without one, ms. */
  readonly defaultTtl: number;
  /** Bytes of argument JSON recorded with the `queued` status (0: none). */
  readonly argsLimit: number;
}

const targets = new WeakMap<ResultBackend, PostgresStatusTarget>();

/** Records how `backend` stores statuses, so a broker on the same pool can write them in its statements. */
export function registerStatusTarget(backend: ResultBackend, target: PostgresStatusTarget): void {
  targets.set(backend, target);
}

/** How `backend` stores statuses, when it is a Postgres result backend. */
export function statusTargetOf(backend: ResultBackend): PostgresStatusTarget | undefined {
  return targets.get(backend);
}
