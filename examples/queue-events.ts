import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { InMemoryBroker, OnQueueEvent, type QueueEvent, QueueEvents, QueueEventsProducer, StemModule, Task } from 'nestjs-stem';

// #region nest
@Injectable()
export class OrderTasks {
  constructor(private readonly events: QueueEventsProducer) {}

  @Task({ name: 'orders.ship', queue: 'orders' })
  async ship(args: { orderId: number }) {
    // ... hand the parcel over ...
    await this.events.emit('orders', 'order.shipped', { orderId: args.orderId }, { headers: { tenant: 'acme' } });
    return 'shipped';
  }
}

@Injectable()
export class ShippingNotifications {
  readonly notified: string[] = [];

  // Runs in every process that imports StemModule (API and workers alike), for events from any process.
  @OnQueueEvent('orders', 'order.shipped')
  notify(payload: { orderId: number }, event: QueueEvent) {
    this.notified.push(`${event.headers.tenant}:${payload.orderId}`);
  }

  // Without a name: every event of the queue.
  @OnQueueEvent('orders')
  audit(_payload: unknown, event: QueueEvent) {
    console.log(`orders: ${event.name} at ${new Date(event.emittedAt).toISOString()}`);
  }
}
// #endregion

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://', worker: { queues: ['orders'] } })],
  providers: [OrderTasks, ShippingNotifications],
})
export class QueueEventsModule {}

/** The same without Nest: a listener, then an emit; resolves with what the listener saw. */
export async function withoutNest(): Promise<string> {
  // #region core
  const broker = new InMemoryBroker(); // or RedisStreamsBroker / PostgresBroker: every process listening gets it
  const events = new QueueEvents('orders', broker);
  const shipped = new Promise<string>((resolve) => {
    events.on<{ orderId: number }>('order.shipped', (e) => resolve(`${e.name} ${e.payload.orderId} (${e.meta.source})`));
  });
  await events.start(); // events emitted before this are not seen
  await new QueueEventsProducer(broker).emit('orders', 'order.shipped', { orderId: 7 }, { meta: { source: 'checkout' } });
  console.log(await shipped); // order.shipped 7 (checkout)
  await events.close();
  // #endregion
  return shipped;
}
