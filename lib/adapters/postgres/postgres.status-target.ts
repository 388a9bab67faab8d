import type { ResultBackend, SetStatusOptions, TaskStatusUpdate } from '../../core/contracts/result-backend.js';
import type { PostgresContext } from './postgres.connection.js';
import type { FoldedAck } from './postgres.status-write.js';

/** What a broker needs to write a result backend's statuses in its own statements. */
export interface PostgresStatusTarget {
  /** The backend's context; folding needs the broker on the very same pool. */
  readonly ctx: PostgresContext;
  /** TTL of statuses written without one, ms. */
  readonly defaultTtl: number;
  /** Bytes of argument JSON recorded with the `queued` status (0: none). */
  readonly argsLimit: number;
  /**
   * Writes a status through the backend's write batch (in call order with its other writes of
   * that task), acking `ack` in the same statement when given.
   * @throws StatusNotStorableError when the status cannot be stored (nothing is acked)
   */
  setAndAck(id: string, update: TaskStatusUpdate, options: SetStatusOptions, ack: FoldedAck | undefined): Promise<void>;
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
