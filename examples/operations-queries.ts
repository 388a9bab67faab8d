import { hasBrokerIntrospection, hasResultBackendIntrospection, Stem } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend({ recordArgs: { maxBytes: 2_048 } });
const stem = new Stem({ broker, backend, allowUnknownTasks: true });
const id = await stem.enqueue('orders.ship', { orderId: 42, carrier: 'ups' }, { queue: 'orders' });

if (hasBrokerIntrospection(broker) && hasResultBackendIntrospection(backend)) {
  const stats = await Promise.all((await broker.listQueues()).map((queue) => broker.queueStats(queue)));
  console.log(stats.map((s) => `${s.queue}: ${s.pending} pending, ${s.delayed} delayed, ${s.deadLetters} dead`).join('; '));
  console.log((await backend.countByState('orders')).queued); // 1
  const lastHour = await backend.throughput({ since: Date.now() - 3_600_000 }); // one-minute buckets, oldest first
  console.log(lastHour.at(-1)!.succeeded); // 0: nothing finished yet
  const page = await backend.searchStatuses({ queue: 'orders', state: 'queued', argsContain: { carrier: 'ups' } });
  console.log(JSON.stringify((await backend.getWithArgs(page.items[0]!.id))?.args)); // {"orderId":42,"carrier":"ups"}
  console.log(page.items[0]!.id === id);
}
