import type { Envelope } from '../envelope.js';
import { UnsupportedCapabilityError } from '../errors/unsupported-capability.error.js';

/**
 * One leased delivery of an envelope. Until it is acked, nacked or dead-lettered, the broker hides
 * it from other consumers; if its lease lapses, the broker redelivers the same envelope.
 */
export interface Delivery<TArgs = unknown> {
  readonly envelope: Envelope<TArgs>;
  /** Broker-specific handle identifying this delivery (never parse it). */
  readonly receipt: string;
  /** Epoch ms when the lease lapses, as last set by the broker. */
  leaseExpiresAt: number;
}

/** Options for {@link Broker.consume}. */
export interface ConsumeOptions {
  /** Queues to take work from, in no particular order (priority decides across them). */
  readonly queues: readonly string[];
  /** Name of this consumer (worker id); shows up in inflight listings. */
  readonly consumerName: string;
  /** Lease length for envelopes that carry no `visibilityTimeout`. @default broker default */
  readonly defaultVisibilityTimeout?: number;
}

/**
 * A pull-based subscription. The worker asks for at most as many deliveries as it has room for,
 * which is how concurrency stays a hard cap.
 */
export interface Consumer {
  /**
   * Resolves with 1..`max` leased deliveries as soon as any are available, or with `[]` when
   * `signal` aborts. Never busy-polls. The worker passes the same `signal` to many fetches, so a
   * listener added to it must be removed when the fetch settles.
   */
  fetch(max: number, signal: AbortSignal): Promise<Delivery[]>;
  /** Stops the subscription; pending `fetch` calls resolve with `[]`. */
  close(): Promise<void>;
}

/** Options for {@link Broker.nack}. */
export interface NackOptions {
  /**
   * Put the envelope back for another delivery. `false` drops it (it is removed as if acked).
   * @default true
   */
  readonly requeue?: boolean;
  /**
   * Replacement envelope (same id) to requeue instead of the delivered one, e.g. with
   * `attempt + 1` and a later `notBefore` for a retry. Replacing is atomic with the nack.
   */
  readonly envelope?: Envelope;
}

/** A dead-lettered envelope with the reason it could not be processed. */
export interface DeadLetterEntry {
  readonly envelope: Envelope;
  /** Why it was dead-lettered, e.g. `max-retries-exhausted`, `unregistered-task`, `invalid-args`. */
  readonly reason: string;
  /** Error details and other context. */
  readonly meta: Readonly<Record<string, unknown>>;
  /** Epoch ms when it was dead-lettered. */
  readonly deadAt: number;
}

/** One page of dead letters, newest first. */
export interface DeadLetterPage {
  readonly items: readonly DeadLetterEntry[];
  /** Offset of the next page, or `undefined` at the end. */
  readonly nextOffset?: number;
}

/**
 * Which dead letters a replay or purge takes; every filter given must match (an entry matches
 * when it is dead at or after `since`, its task id is in `ids` and its reason is `reason`).
 */
export interface DeadLetterFilter {
  /** Only entries dead-lettered at or after this epoch ms. */
  readonly since?: number;
  /** Only the dead letters of these task ids; an empty list selects nothing. */
  readonly ids?: readonly string[];
  /** Only entries with exactly this reason (e.g. `max-retries-exhausted`). */
  readonly reason?: string;
}

/**
 * A test of whether a dead letter matches a {@link DeadLetterFilter}, for adapters that filter
 * their entries in memory.
 *
 * @example
 * const matches = deadLetterMatcher({ reason: 'expired' });
 * const expired = entries.filter(matches);
 */
export function deadLetterMatcher(filter: DeadLetterFilter): (entry: DeadLetterEntry) => boolean {
  const ids = filter.ids === undefined ? undefined : new Set(filter.ids);
  return (entry) =>
    (filter.since === undefined || entry.deadAt >= filter.since) &&
    (filter.reason === undefined || entry.reason === filter.reason) &&
    (ids === undefined || ids.has(entry.envelope?.id));
}

/** Options for {@link Broker.replayDeadLetters}. */
export interface ReplayOptions extends DeadLetterFilter {
  /** At most this many entries (oldest first). @default 50 */
  readonly limit?: number;
  /** Delay in ms before the replayed envelopes become visible. @default 0 */
  readonly delay?: number;
  /** Report what would be replayed, change nothing. @default false */
  readonly dryRun?: boolean;
  /**
   * Applied to each replayed envelope (already with `attempt + 1` and the delay) before it is
   * published, e.g. to sign it again.
   */
  readonly transform?: (envelope: Envelope) => Envelope;
}

/** Result of {@link Broker.replayDeadLetters}. */
export interface ReplayResult {
  /** Entries replayed (or, on a dry run, that would be). */
  readonly entries: readonly DeadLetterEntry[];
  readonly dryRun: boolean;
}

/** Options for {@link Broker.purgeDeadLetters}. */
export interface PurgeDeadLettersOptions extends DeadLetterFilter {
  /** At most this many entries (oldest first). */
  readonly limit?: number;
}

/**
 * A broker that can publish inside a transaction the caller owns (Postgres): the envelopes become
 * visible on COMMIT and vanish on ROLLBACK. `transaction` is the store's own handle (a `pg`
 * client inside `BEGIN`).
 */
export interface TransactionalBroker extends Broker {
  publishWith(transaction: never, envelopes: Envelope | readonly Envelope[]): Promise<void>;
}

/** Whether `broker` can publish inside a caller's transaction. */
export function isTransactionalBroker(broker: Broker): broker is TransactionalBroker {
  return typeof (broker as Partial<TransactionalBroker>).publishWith === 'function';
}

/** A handler for broadcast messages. */
export type BroadcastListener = (message: BroadcastMessage) => void;

/** A message published to every subscriber of a broadcast channel. */
export interface BroadcastMessage {
  readonly channel: string;
  readonly payload: unknown;
  readonly publishedAt: number;
}

/** A live broadcast subscription. */
export interface BroadcastSubscription {
  close(): Promise<void>;
}

/**
 * Moves envelopes from producers to workers with at-least-once delivery and leases.
 *
 * Semantics every adapter must keep (checked by `runBrokerContractTests`):
 * - a delivery is leased until acked/nacked/dead-lettered; a lapsed lease redelivers the envelope;
 * - `extendLease` extends the same delivery, never acks and republishes a copy;
 * - `notBefore` envelopes are invisible (and not counted pending) until due;
 * - adapters that decode stored payloads dead-letter undecodable ones (`malformed-envelope`) and
 *   keep consuming.
 *
 * Optional capabilities: a store may leave out what it cannot do, and callers ask before they use
 * it ({@link brokerSupports}, {@link requireBrokerCapability}):
 * - `dead-letter-admin`: list, get, replay and purge dead letters ({@link DeadLetterAdmin});
 * - `broadcast`: a fan-out channel for control messages ({@link BrokerBroadcast});
 * - `priorities`: higher priority first (0–9), FIFO within a priority; a broker without it
 *   declares `capabilities: { priorities: false }` and delivers FIFO;
 * - `transactions`: publishing inside a caller's transaction ({@link TransactionalBroker}).
 */
export interface Broker extends Partial<DeadLetterAdmin>, Partial<BrokerBroadcast> {
  /** Short adapter name for logs and errors (`memory`, `redis`, `postgres`). */
  readonly name: string;
  /** Capabilities that cannot be told from the methods present. @default all of them */
  readonly capabilities?: BrokerCapabilityFlags;
  /** Publishes an envelope to `envelope.queue`. */
  publish(envelope: Envelope): Promise<void>;
  /**
   * Publishes many envelopes in as few round trips as the store allows. Optional: callers fall
   * back to `publish` for each envelope.
   */
  publishBatch?(envelopes: readonly Envelope[]): Promise<void>;
  /** Opens a pull subscription over some queues. */
  consume(options: ConsumeOptions): Consumer;
  /** Acknowledges a delivery: the envelope is done and removed. */
  ack(delivery: Delivery): Promise<void>;
  /** Gives a delivery back: requeued (optionally replaced) or dropped. */
  nack(delivery: Delivery, options?: NackOptions): Promise<void>;
  /** Moves a delivery to its queue's dead letters. */
  deadLetter(delivery: Delivery, reason: string, meta?: Record<string, unknown>): Promise<void>;
  /** Pushes the lease deadline of a delivery to now + `ms`. */
  extendLease(delivery: Delivery, ms: number): Promise<void>;
  /** Removes every pending envelope and dead letter of a queue; returns envelopes removed. */
  purge(queue: string): Promise<number>;
  /** Envelopes waiting in a queue (ready now, excluding delayed and in flight). */
  pendingCount(queue: string): Promise<number>;
  /** Envelopes of a queue currently leased by consumers. */
  inflightCount(queue: string): Promise<number>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}

/** Capabilities a broker declares because its methods cannot show them. */
export interface BrokerCapabilityFlags {
  /** Whether priorities order deliveries (0–9, higher first). @default true */
  readonly priorities?: boolean;
}

/** Inspecting and recovering dead letters (optional capability `dead-letter-admin`). */
export interface DeadLetterAdmin {
  /** Dead letters of a queue, newest first. */
  listDeadLetters(queue: string, options?: { limit?: number; offset?: number }): Promise<DeadLetterPage>;
  /** One dead letter by task id, or `null`. */
  getDeadLetter(queue: string, id: string): Promise<DeadLetterEntry | null>;
  /** Re-publishes dead letters (attempt + 1) and removes them from the dead letters. */
  replayDeadLetters(queue: string, options?: ReplayOptions): Promise<ReplayResult>;
  /** Deletes dead letters; returns how many. */
  purgeDeadLetters(queue: string, options?: PurgeDeadLettersOptions): Promise<number>;
}

/** A fan-out channel for control messages (optional capability `broadcast`). */
export interface BrokerBroadcast {
  /** Publishes a message that every current subscriber of `channel` receives. */
  broadcast(channel: string, payload: unknown): Promise<void>;
  /** Subscribes to a broadcast channel; each subscription gets every message. */
  subscribeBroadcast(channel: string, listener: BroadcastListener): Promise<BroadcastSubscription>;
}

/** The optional capabilities of a {@link Broker}. */
export type BrokerCapability = 'dead-letter-admin' | 'broadcast' | 'priorities' | 'transactions';

/** Every optional capability, in a stable order (for listings and messages). */
export const BROKER_CAPABILITIES: readonly BrokerCapability[] = ['dead-letter-admin', 'broadcast', 'priorities', 'transactions'];

/** The broker type a capability adds up to. */
export interface BrokerWithCapability {
  'dead-letter-admin': Broker & DeadLetterAdmin;
  broadcast: Broker & BrokerBroadcast;
  priorities: Broker;
  transactions: TransactionalBroker;
}

/** Whether `broker` can list, get, replay and purge its dead letters. */
export function hasDeadLetterAdmin(broker: Broker): broker is Broker & DeadLetterAdmin {
  return (
    typeof broker.listDeadLetters === 'function' &&
    typeof broker.getDeadLetter === 'function' &&
    typeof broker.replayDeadLetters === 'function' &&
    typeof broker.purgeDeadLetters === 'function'
  );
}

/** Whether `broker` has a broadcast (control) channel. */
export function hasBroadcast(broker: Broker): broker is Broker & BrokerBroadcast {
  return typeof broker.broadcast === 'function' && typeof broker.subscribeBroadcast === 'function';
}

/** Whether `broker` orders deliveries by priority. */
export function supportsPriorities(broker: Broker): boolean {
  return broker.capabilities?.priorities !== false;
}

/**
 * Whether `broker` has an optional capability.
 *
 * @example
 * if (brokerSupports(broker, 'dead-letter-admin')) await broker.listDeadLetters('emails');
 */
export function brokerSupports<C extends Exclude<BrokerCapability, 'priorities'>>(broker: Broker, capability: C): broker is BrokerWithCapability[C];
export function brokerSupports(broker: Broker, capability: BrokerCapability): boolean;
export function brokerSupports(broker: Broker, capability: BrokerCapability): boolean {
  switch (capability) {
    case 'dead-letter-admin':
      return hasDeadLetterAdmin(broker);
    case 'broadcast':
      return hasBroadcast(broker);
    case 'priorities':
      return supportsPriorities(broker);
    case 'transactions':
      return isTransactionalBroker(broker);
  }
}

/** The optional capabilities `broker` has, in {@link BROKER_CAPABILITIES} order. */
export function brokerCapabilities(broker: Broker): BrokerCapability[] {
  return BROKER_CAPABILITIES.filter((capability) => brokerSupports(broker, capability));
}

/**
 * Returns `broker` typed with the capability, or throws an {@link UnsupportedCapabilityError}
 * naming the broker, the capability and what needed it.
 *
 * @param action what the caller wanted to do, for the message (`'list dead letters'`)
 * @example
 * const admin = requireBrokerCapability(broker, 'dead-letter-admin', 'replay dead letters');
 */
export function requireBrokerCapability<C extends BrokerCapability>(broker: Broker, capability: C, action: string): BrokerWithCapability[C] {
  if (!brokerSupports(broker, capability)) throw new UnsupportedCapabilityError(broker.name, capability, action);
  return broker as BrokerWithCapability[C];
}
