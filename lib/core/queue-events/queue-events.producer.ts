import { type Broker, requireBrokerCapability } from '../contracts/broker.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { type Clock, systemClock } from '../utils/clock.js';
import { uuidv7 } from '../utils/uuid.js';
import { DEFAULT_QUEUE_EVENTS_NAMESPACE, QUEUE_EVENT_KIND, type QueueEventMessage, queueEventsChannel } from './queue-event.js';

/** Options of {@link QueueEventsProducer} and `QueueEvents`. */
export interface QueueEventsOptions {
  /** Separates the events of apps sharing one broker; emitter and listeners must agree. @default 'stem' */
  readonly namespace?: string;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Options of one {@link QueueEventsProducer.emit}. */
export interface EmitQueueEventOptions {
  /** String headers carried to every listener unchanged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON meta carried to every listener unchanged. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Checks a queue or event name: a non-empty string. */
export function assertEventName(option: 'queue' | 'name', value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigurationError(option, `${where} needs a non-empty ${option === 'queue' ? 'queue' : 'event'} name, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Emits custom events on a queue through the broker's broadcast capability (memory, Redis
 * pub/sub, Postgres LISTEN/NOTIFY): every `QueueEvents` listening on that queue, in every
 * process, receives each event once; listeners of other queues never see it. Delivery is
 * fire-and-forget: a listener that is not subscribed when the event is emitted misses it.
 *
 * @example
 * const events = new QueueEventsProducer(broker);
 * await events.emit('orders', 'order.shipped', { orderId: 42 }, { headers: { tenant: 'acme' } });
 */
export class QueueEventsProducer {
  private readonly namespace: string;
  private readonly clock: Clock;

  constructor(
    private readonly broker: Broker,
    options: QueueEventsOptions = {},
  ) {
    this.namespace = options.namespace ?? DEFAULT_QUEUE_EVENTS_NAMESPACE;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Emits event `name` with `payload` on `queue`; resolves with the event id once published.
   * @throws UnsupportedCapabilityError when the broker has no broadcast capability
   * @throws ConfigurationError when `queue` or `name` is empty or a header is not a string
   * @throws StemError `STEM_BROADCAST_TOO_LARGE` on Postgres when the event exceeds one NOTIFY (~7.9 kB)
   */
  async emit<TPayload = unknown>(queue: string, name: string, payload?: TPayload, options: EmitQueueEventOptions = {}): Promise<string> {
    assertEventName('queue', queue, 'QueueEventsProducer.emit()');
    assertEventName('name', name, `QueueEventsProducer.emit() on queue "${queue}"`);
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (typeof value !== 'string') throw new ConfigurationError('headers', `header "${key}" of event "${name}" on queue "${queue}" must be a string, got ${typeof value}`);
    }
    const broker = requireBrokerCapability(this.broker, 'broadcast', `emit event "${name}" on queue "${queue}"`);
    const message: QueueEventMessage = {
      kind: QUEUE_EVENT_KIND,
      id: uuidv7(),
      queue,
      name,
      payload: payload ?? null,
      headers: { ...options.headers },
      meta: { ...options.meta },
      emittedAt: this.clock.now(),
    };
    await broker.broadcast(queueEventsChannel(queue, this.namespace), message);
    return message.id;
  }
}
