import { STEM_QUEUE_EVENT_METADATA } from '../stem.constants.js';

/** What one `@OnQueueEvent()` records on a method. */
export interface OnQueueEventMetadata {
  readonly queue: string;
  /** Event name; `undefined` means every event of the queue. */
  readonly name?: string;
}

/**
 * Calls the method for events emitted on `queue` (by `QueueEventsProducer.emit`, in any process)
 * named `name`, or for every event of the queue when `name` is left out. The method receives
 * `(payload, event: QueueEvent)`. Listeners start when the app has bootstrapped, in every process
 * that imports `StemModule` (API and worker alike), and close at shutdown. Repeat it to listen to
 * several events. Needs a broker with broadcast (memory, Redis, Postgres).
 *
 * @example
 * @Injectable()
 * export class Shipping {
 *   @OnQueueEvent('orders', 'order.shipped')
 *   notify(payload: { orderId: number }, event: QueueEvent) { ... }
 * }
 */
export function OnQueueEvent(queue: string, name?: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    const fn = descriptor.value as object;
    const existing = (Reflect.getMetadata(STEM_QUEUE_EVENT_METADATA, fn) as OnQueueEventMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(STEM_QUEUE_EVENT_METADATA, [...existing, { queue, ...(name !== undefined ? { name } : {}) }], fn);
    return descriptor;
  };
}
