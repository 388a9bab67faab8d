/** `kind` of every queue event message on the broadcast channel. */
export const QUEUE_EVENT_KIND = '__stem.queue.event__';

/** Default namespace of queue event channels. */
export const DEFAULT_QUEUE_EVENTS_NAMESPACE = 'stem';

/** The broadcast channel of a queue's events: `<namespace>:events:<queue>`. */
export function queueEventsChannel(queue: string, namespace: string = DEFAULT_QUEUE_EVENTS_NAMESPACE): string {
  return `${namespace}:events:${queue}`;
}

/** A custom event emitted on a queue with `QueueEventsProducer.emit` and received by `QueueEvents`. */
export interface QueueEvent<TPayload = unknown> {
  /** Event id (UUIDv7), unique per emit. */
  readonly id: string;
  /** The queue the event was emitted on. */
  readonly queue: string;
  /** Event name, e.g. `order.shipped`. */
  readonly name: string;
  readonly payload: TPayload;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
  /** Epoch ms when it was emitted (the emitter's clock). */
  readonly emittedAt: number;
}

/** The wire form of a {@link QueueEvent} on the broadcast channel. */
export interface QueueEventMessage extends QueueEvent {
  readonly kind: typeof QUEUE_EVENT_KIND;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** The event in a broadcast payload, or `undefined` when the payload is not a well-formed queue event. */
export function parseQueueEvent(value: unknown): QueueEvent | undefined {
  const m = value as Partial<QueueEventMessage> | null;
  if (typeof m !== 'object' || m === null || m.kind !== QUEUE_EVENT_KIND) return undefined;
  if (typeof m.id !== 'string' || typeof m.queue !== 'string' || typeof m.name !== 'string' || typeof m.emittedAt !== 'number') return undefined;
  const headers = m.headers ?? {};
  const meta = m.meta ?? {};
  if (!isStringMap(headers) || typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  return { id: m.id, queue: m.queue, name: m.name, payload: m.payload, headers, meta, emittedAt: m.emittedAt };
}
