import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../core/contracts/broker.js';
import type { QueueEvent } from '../core/queue-events/queue-event.js';
import { QueueEvents } from '../core/queue-events/queue-events.js';
import { QueueEventsProducer } from '../core/queue-events/queue-events.producer.js';
import { uniqueName } from './contract-helpers.js';

/** How the queue events suite gets brokers. */
export interface QueueEventsContractFactory {
  /**
   * A broker on the shared backing store. Where the adapter has connections, every call must
   * open its own (the fan-out test listens on two instances).
   */
  create(): Promise<Broker>;
  dispose?(broker: Broker): Promise<void>;
}

/** What the queue events suite checks. */
export interface QueueEventsContractSettings {
  /** Check that events fan out to listeners on two broker instances. @default true */
  readonly verifyFanout?: boolean;
  /** How long to wait for an event, in ms. @default 5000 */
  readonly timeout?: number;
}

/** Records the events a handler got and lets a test wait for a count. */
class Recorder {
  readonly events: QueueEvent[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  readonly listener = (event: QueueEvent): void => {
    this.events.push(event);
    const ready = this.waiters.filter((w) => this.events.length >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  };

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  until(count: number, ms: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} queue events within ${ms} ms, got ${this.events.length}: [${this.names().join(', ')}]`)), ms);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

/**
 * The behaviours queue events must show on a broker (Stem's "Queue events" suite): an emitted
 * event reaches a listener with its id, name and payload; events never cross queues; `on(name)`
 * filters by name; headers and meta arrive unchanged; every listener on every broker instance gets
 * each event once; a closed listener gets nothing more. Brokers emit from one instance and listen
 * on others, as separate processes would.
 */
export function runQueueEventsContractTests(adapter: string, factory: QueueEventsContractFactory, settings: QueueEventsContractSettings = {}): void {
  const timeout = settings.timeout ?? 5_000;
  describe(`Queue events contract: ${adapter}`, () => {
    const brokers: Broker[] = [];
    const listeners: QueueEvents[] = [];
    afterEach(async () => {
      for (const l of listeners.splice(0)) await l.close();
      for (const b of brokers.splice(0)) await (factory.dispose ? factory.dispose(b) : b.close());
    });
    const broker = async () => {
      const b = await factory.create();
      brokers.push(b);
      return b;
    };
    const listen = (queue: string, on: Broker, namespace: string) => {
      const events = new QueueEvents(queue, on, { namespace });
      listeners.push(events);
      return events;
    };
    const setup = async () => {
      const namespace = uniqueName('events');
      const emitter = new QueueEventsProducer(await broker(), { namespace });
      return { namespace, emitter, listenOn: await broker() };
    };

    it('delivers an emitted event with its id, queue, name and payload', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const queue = uniqueName('q');
      const got = new Recorder();
      const events = listen(queue, listenOn, namespace);
      events.on('order.shipped', got.listener);
      await events.start();
      const before = Date.now();
      const id = await emitter.emit(queue, 'order.shipped', { orderId: 42, items: ['a', 'b'] });
      await got.until(1, timeout);
      expect(got.events).toEqual([{ id, queue, name: 'order.shipped', payload: { orderId: 42, items: ['a', 'b'] }, headers: {}, meta: {}, emittedAt: expect.any(Number) }]);
      expect(got.events[0]!.emittedAt).toBeGreaterThanOrEqual(before - 1_000);
    });

    it('never delivers an event to listeners of another queue', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const [a, b] = [uniqueName('qa'), uniqueName('qb')];
      const onA = new Recorder();
      const onB = new Recorder();
      const eventsA = listen(a, listenOn, namespace);
      const eventsB = listen(b, listenOn, namespace);
      eventsA.onAny(onA.listener);
      eventsB.onAny(onB.listener);
      await Promise.all([eventsA.start(), eventsB.start()]);
      // NOTE: B's event is emitted first; once A's later event arrived, B's would have too.
      await emitter.emit(b, 'for.b');
      await emitter.emit(a, 'for.a');
      await Promise.all([onA.until(1, timeout), onB.until(1, timeout)]);
      expect(onA.events.map((e) => [e.queue, e.name])).toEqual([[a, 'for.a']]);
      expect(onB.events.map((e) => [e.queue, e.name])).toEqual([[b, 'for.b']]);
    });

    it('on(name) only receives events of that name', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const queue = uniqueName('q');
      const [onA, onB, all] = [new Recorder(), new Recorder(), new Recorder()];
      const events = listen(queue, listenOn, namespace);
      events.on('a', onA.listener);
      events.on('b', onB.listener);
      events.onAny(all.listener);
      await events.start();
      for (const name of ['b', 'a', 'c', 'a']) await emitter.emit(queue, name, { name });
      await all.until(4, timeout);
      expect(all.names()).toEqual(['b', 'a', 'c', 'a']);
      expect(onA.events.map((e) => e.payload)).toEqual([{ name: 'a' }, { name: 'a' }]);
      expect(onB.names()).toEqual(['b']);
    });

    it('keeps headers and meta unchanged', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const queue = uniqueName('q');
      const got = new Recorder();
      const events = listen(queue, listenOn, namespace);
      events.on('tagged', got.listener);
      await events.start();
      const headers = { tenant: 'acme', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', empty: '' };
      const meta = { nested: { list: [1, 'two', { three: 3 }], flag: true, none: null }, 'stem.source': 'contract', n: 3.5 };
      await emitter.emit(queue, 'tagged', 'plain string', { headers, meta });
      await got.until(1, timeout);
      expect(got.events[0]).toMatchObject({ payload: 'plain string', headers, meta });
    });

    it.runIf(settings.verifyFanout !== false)('fans each event out to every listener on every broker instance, once each', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const queue = uniqueName('q');
      const second = await broker();
      const recorders = [new Recorder(), new Recorder(), new Recorder()];
      const one = listen(queue, listenOn, namespace);
      const two = listen(queue, second, namespace);
      one.on('tick', recorders[0]!.listener);
      one.on('tick', recorders[1]!.listener);
      two.on('tick', recorders[2]!.listener);
      await Promise.all([one.start(), two.start()]);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await emitter.emit(queue, 'tick', { i }));
      // NOTE: the last event is a sentinel: a duplicate of an earlier one would have arrived before it.
      ids.push(await emitter.emit(queue, 'tick', { i: 'last' }));
      await Promise.all(recorders.map((r) => r.until(4, timeout)));
      for (const r of recorders) expect(r.events.map((e) => e.id)).toEqual(ids);
    });

    it('calls no handler once the listener is closed, while other listeners keep receiving', async () => {
      const { namespace, emitter, listenOn } = await setup();
      const queue = uniqueName('q');
      const [closing, staying] = [new Recorder(), new Recorder()];
      const first = listen(queue, listenOn, namespace);
      const other = listen(queue, listenOn, namespace);
      first.onAny(closing.listener);
      other.onAny(staying.listener);
      await Promise.all([first.start(), other.start()]);
      await emitter.emit(queue, 'before');
      await Promise.all([closing.until(1, timeout), staying.until(1, timeout)]);
      await first.close();
      await emitter.emit(queue, 'after');
      await staying.until(2, timeout);
      expect(staying.names()).toEqual(['before', 'after']);
      expect(closing.names()).toEqual(['before']);
    });
  });
}
