import type { Envelope } from '../envelope.js';
import type { Broker } from './broker.js';
import type { ResultBackend } from './result-backend.js';

/**
 * Publishes envelopes and records each one's `queued` status (attempt 0, its name, queue and a
 * copy of its meta; a live terminal status is left as it is, as with `unlessTerminal`) in the
 * same atomic step: both are stored or neither is, in one round trip. The status write reaches
 * `watch` in other processes like any other write.
 */
export interface QueuedPublish {
  /**
   * @param ttl TTL in ms of the `queued` statuses (the backend's default when absent)
   * @throws the store's error as it came: an error reply or one raised before any I/O means nothing
   * was stored; a lost connection means the outcome is unknown
   */
  publish(envelopes: readonly Envelope[], ttl: number | undefined): Promise<void>;
}

/** A broker that can fold the `queued` status write into its publish for a backend in the same store. */
export interface QueuedPublishBroker extends Broker {
  /** A folded publisher writing `backend`'s statuses, or `undefined` when `backend` is not in this broker's store. */
  queuedPublisher(backend: ResultBackend): QueuedPublish | undefined;
}

/** The folded publisher of `broker` for `backend`, when the broker offers one. */
export function queuedPublisherFor(broker: Broker, backend: ResultBackend | undefined): QueuedPublish | undefined {
  if (!backend) return undefined;
  const folding = broker as Partial<QueuedPublishBroker>;
  return typeof folding.queuedPublisher === 'function' ? folding.queuedPublisher(backend) : undefined;
}
