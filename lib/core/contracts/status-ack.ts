import type { Broker, Delivery } from './broker.js';
import type { ResultBackend, SetStatusOptions, TaskStatusUpdate } from './result-backend.js';

/**
 * Stores a delivery's terminal status and then acks the delivery, in one step where the store
 * allows it. The ack never happens without the status; a failure may leave the status stored and
 * the delivery unacked (its lease then lapses and it is delivered again). A worker uses it for an
 * outcome with no follow-ups to run between the two (see `WorkerExtension.followsUp`), saving a
 * round trip per task. The status write keeps every property of `ResultBackend.set`: call order
 * per task with the writes made through the backend, watchers in other processes woken, TTL and
 * indexes.
 */
export interface StatusAck {
  /**
   * @throws AckNotConfirmedError when the status is stored but the ack failed; the backend's
   * error for a status it cannot store (nothing is written or acked); or the store's error as it
   * came (a lost connection means the outcome is unknown)
   */
  ackWithStatus(delivery: Delivery, update: TaskStatusUpdate, options?: SetStatusOptions): Promise<void>;
}

/** A broker that can fold a terminal status write into its ack for a backend in the same store. */
export interface StatusAckBroker extends Broker {
  /** A folded acker writing `backend`'s statuses, or `undefined` when `backend` is not in this broker's store. */
  statusAcker(backend: ResultBackend): StatusAck | undefined;
}

/** The folded acker of `broker` for `backend`, when the broker offers one. */
export function statusAckerFor(broker: Broker, backend: ResultBackend | undefined): StatusAck | undefined {
  if (!backend) return undefined;
  const folding = broker as Partial<StatusAckBroker>;
  return typeof folding.statusAcker === 'function' ? folding.statusAcker(backend) : undefined;
}
