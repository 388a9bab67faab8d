import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/index.js';
import { type Broker, ConfigurationError, QueueEvents, type QueueEvent, QueueEventsProducer, queueEventsChannel, UnsupportedCapabilityError } from '../../lib/core/index.js';

/** A broker that moves tasks but has no broadcast channel (a third-party store without it). */
function brokerWithoutBroadcast(): Broker {
  const inner = new InMemoryBroker();
  return {
    name: 'queue-only',
    publish: (e) => inner.publish(e),
    consume: (o) => inner.consume(o),
    ack: (d) => inner.ack(d),
    nack: (d, o) => inner.nack(d, o),
    deadLetter: (d, r, m) => inner.deadLetter(d, r, m),
    extendLease: (d, ms) => inner.extendLease(d, ms),
    purge: (q) => inner.purge(q),
    pendingCount: (q) => inner.pendingCount(q),
    inflightCount: (q) => inner.inflightCount(q),
    close: () => inner.close(),
  };
}

const next = (events: QueueEvents) => new Promise<QueueEvent>((resolve) => events.onAny(resolve));

describe('queue events', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('names the broker, the queue and the missing capability when the broker cannot broadcast', async () => {
    const broker = brokerWithoutBroadcast();
    await expect(new QueueEventsProducer(broker).emit('orders', 'order.shipped', {})).rejects.toThrow(UnsupportedCapabilityError);
    await expect(new QueueEventsProducer(broker).emit('orders', 'order.shipped', {})).rejects.toThrow(
      'Cannot emit event "order.shipped" on queue "orders": the "queue-only" broker has no broadcast capability',
    );
    await expect(new QueueEvents('orders', broker).start()).rejects.toThrow('Cannot listen to events of queue "orders": the "queue-only" broker has no broadcast capability');
  });

  it('rejects empty queue and event names and non-string headers', async () => {
    const emitter = new QueueEventsProducer(new InMemoryBroker());
    await expect(emitter.emit('', 'x')).rejects.toThrow(ConfigurationError);
    await expect(emitter.emit('orders', ' ')).rejects.toThrow('needs a non-empty event name');
    await expect(emitter.emit('orders', 'x', {}, { headers: { n: 1 as unknown as string } })).rejects.toThrow('header "n" of event "x" on queue "orders" must be a string');
    expect(() => new QueueEvents('', new InMemoryBroker())).toThrow(ConfigurationError);
    expect(() => new QueueEvents('orders', new InMemoryBroker()).on('', () => undefined)).toThrow(ConfigurationError);
  });

  it('a throwing or rejecting handler reaches onError and does not stop the other handlers', async () => {
    const broker = new InMemoryBroker();
    const errors: string[] = [];
    const events = new QueueEvents('orders', broker, { onError: (error, event) => errors.push(`${event.name}: ${(error as Error).message}`) });
    closers.push(() => events.close());
    events.on('x', () => {
      throw new Error('sync boom');
    });
    events.on('x', async () => {
      throw new Error('async boom');
    });
    const received = next(events);
    await events.start();
    await new QueueEventsProducer(broker).emit('orders', 'x', 1);
    expect((await received).payload).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.sort()).toEqual(['x: async boom', 'x: sync boom']);
  });

  it('ignores malformed messages and a repeated event id on the channel', async () => {
    const broker = new InMemoryBroker();
    const events = new QueueEvents('orders', broker);
    closers.push(() => events.close());
    const got: unknown[] = [];
    events.onAny((e) => void got.push(e.payload));
    await events.start();
    const channel = queueEventsChannel('orders');
    await broker.broadcast(channel, 'not an event');
    await broker.broadcast(channel, { kind: '__stem.queue.event__', id: 'e1', queue: 'orders', name: 'x', emittedAt: 1, headers: { bad: 1 } });
    const good = { kind: '__stem.queue.event__', id: 'e2', queue: 'orders', name: 'x', payload: 'ok', emittedAt: 1, headers: {}, meta: {} };
    await broker.broadcast(channel, good);
    await broker.broadcast(channel, good);
    await broker.broadcast(channel, { ...good, id: 'e3', queue: 'other' });
    await new QueueEventsProducer(broker).emit('orders', 'x', 'last');
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual(['ok', 'last']);
  });

  it('keeps namespaces apart', async () => {
    const broker = new InMemoryBroker();
    const mine = new QueueEvents('orders', broker, { namespace: 'app-a' });
    closers.push(() => mine.close());
    const got: string[] = [];
    mine.onAny((e) => void got.push(e.name));
    await mine.start();
    await new QueueEventsProducer(broker, { namespace: 'app-b' }).emit('orders', 'theirs');
    await new QueueEventsProducer(broker, { namespace: 'app-a' }).emit('orders', 'ours');
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual(['ours']);
  });
});
