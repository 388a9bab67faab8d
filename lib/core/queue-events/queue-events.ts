import type { Broker, BroadcastSubscription } from '../contracts/broker.js';
import { requireBrokerCapability } from '../contracts/broker.js';
import { DEFAULT_QUEUE_EVENTS_NAMESPACE, parseQueueEvent, type QueueEvent, queueEventsChannel } from './queue-event.js';
import { assertEventName, type QueueEventsOptions } from './queue-events.producer.js';

/** A handler of queue events; a returned promise is awaited only to catch its rejection. */
export type QueueEventListener<TPayload = unknown> = (event: QueueEvent<TPayload>) => void | Promise<void>;

/** Options of {@link QueueEvents}. */
export interface QueueEventsListenOptions extends Pick<QueueEventsOptions, 'namespace'> {
  /** Called when a listener throws or rejects. @default the error is dropped */
  readonly onError?: (error: unknown, event: QueueEvent) => void;
}

/** How many event ids a listener remembers to drop a message seen twice (a reconnecting subscriber). */
const SEEN_IDS = 1_000;

/**
 * Listens to the custom events of one queue (see `QueueEventsProducer`). Register handlers with
 * {@link on} (one event name) or {@link onAny}, then {@link start}: from then on every event
 * emitted on the queue, from any process, reaches each handler once. Events of other queues
 * never arrive. A throwing handler does not stop the others (`onError` sees its error).
 *
 * @example
 * const events = new QueueEvents('orders', broker);
 * events.on<{ orderId: number }>('order.shipped', (e) => console.log(e.payload.orderId, e.headers.tenant));
 * await events.start();
 * // ...
 * await events.close();
 */
export class QueueEvents {
  private readonly named = new Map<string, Set<QueueEventListener>>();
  private readonly any = new Set<QueueEventListener>();
  private readonly seen = new Set<string>();
  private readonly namespace: string;
  private starting?: Promise<void>;
  private subscription?: BroadcastSubscription;
  private closed = false;

  constructor(
    readonly queue: string,
    private readonly broker: Broker,
    private readonly options: QueueEventsListenOptions = {},
  ) {
    assertEventName('queue', queue, 'new QueueEvents()');
    this.namespace = options.namespace ?? DEFAULT_QUEUE_EVENTS_NAMESPACE;
  }

  /** Calls `listener` for every event named `name`; returns a function that removes it. */
  on<TPayload = unknown>(name: string, listener: QueueEventListener<TPayload>): () => void {
    assertEventName('name', name, `QueueEvents("${this.queue}").on()`);
    let set = this.named.get(name);
    if (!set) this.named.set(name, (set = new Set()));
    set.add(listener as QueueEventListener);
    return () => void set.delete(listener as QueueEventListener);
  }

  /** Calls `listener` for every event of the queue; returns a function that removes it. */
  onAny(listener: QueueEventListener): () => void {
    this.any.add(listener);
    return () => void this.any.delete(listener);
  }

  /**
   * Subscribes to the queue's events; resolves once no later event can be missed. Idempotent.
   * @throws UnsupportedCapabilityError when the broker has no broadcast capability
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      const broker = requireBrokerCapability(this.broker, 'broadcast', `listen to events of queue "${this.queue}"`);
      const subscription = await broker.subscribeBroadcast(queueEventsChannel(this.queue, this.namespace), (message) => this.deliver(message.payload));
      if (this.closed) await subscription.close();
      else this.subscription = subscription;
    })().catch((error: unknown) => {
      // NOTE: a failed subscribe (the broker was away) may be tried again.
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** Unsubscribes; no handler is called afterwards. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
  }

  private deliver(raw: unknown): void {
    if (this.closed) return;
    const event = parseQueueEvent(raw);
    if (!event || event.queue !== this.queue) return;
    // NOTE: a reconnecting subscriber may see a message twice; each event reaches a handler once.
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!);
    for (const listener of [...(this.named.get(event.name) ?? []), ...this.any]) this.call(listener, event);
  }

  private call(listener: QueueEventListener, event: QueueEvent): void {
    try {
      const result = listener(event);
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).catch((error: unknown) => this.report(error, event));
    } catch (error) {
      this.report(error, event);
    }
  }

  private report(error: unknown, event: QueueEvent): void {
    try {
      this.options.onError?.(error, event);
    } catch {
      // NOTE: an error handler that throws must not escape into the broker's subscriber loop.
    }
  }
}
