import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../lib/adapters/memory/index.js';
import {
  type Broker,
  ConfigurationError,
  OnQueueEvent,
  type QueueEvent,
  QueueEventsProducer,
  StemClient,
  StemModule,
  type StemModuleOptions,
  StemQueueEventsHost,
  Task,
} from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { deleteKeys } from '../test/redis/redis-test-utils.js';
import { isolatedPostgresUrl, REDIS_URL, redisAvailable, postgresAvailable } from '../test/support/services.js';

const queue = uniqueName('orders');
const otherQueue = uniqueName('billing');

/** Records what the decorated methods received, per app. */
@Injectable()
class OrderListeners {
  readonly shipped: { payload: unknown; event: QueueEvent }[] = [];
  readonly all: string[] = [];
  readonly billing: string[] = [];

  @OnQueueEvent(queue, 'order.shipped')
  onShipped(payload: unknown, event: QueueEvent): void {
    this.shipped.push({ payload, event });
  }

  @OnQueueEvent(queue)
  @OnQueueEvent(otherQueue, 'invoice.sent')
  onAnything(_payload: unknown, event: QueueEvent): void {
    (event.queue === queue ? this.all : this.billing).push(event.name);
  }

  @OnQueueEvent(queue, 'order.shipped')
  explode(): never {
    throw new Error('a broken listener');
  }
}

/** A task that reports its progress as a queue event, as a worker would. */
@Injectable()
class OrderTasks {
  constructor(private readonly events: QueueEventsProducer) {}

  @Task({ name: 'orders.ship', queue })
  async ship(args: { orderId: number }): Promise<number> {
    await this.events.emit(queue, 'order.shipped', { orderId: args.orderId }, { headers: { tenant: 'acme' }, meta: { by: 'worker' } });
    return args.orderId;
  }
}

const apps: INestApplication[] = [];
const errors: string[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  errors.splice(0);
});

async function boot(options: StemModuleOptions): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: [OrderListeners, OrderTasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: { log() {}, warn() {}, error: (m: unknown) => void errors.push(String(m)) } });
  apps.push(app);
  await app.init();
  return app;
}

const until = async (check: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const prefix = uniqueName('e2e-qe');
const postgres = isolatedPostgresUrl('stem_e2e_qe');
const withRedis = await redisAvailable();
const withPostgres = await postgresAvailable();
const targets: { name: string; available: boolean; stores: () => Pick<StemModuleOptions, 'broker' | 'backend'> }[] = [
  {
    name: 'memory',
    available: true,
    stores: (() => {
      const shared = { broker: new InMemoryBroker(), backend: new InMemoryResultBackend() };
      return () => shared;
    })(),
  },
  { name: 'redis', available: withRedis, stores: () => ({ broker: `${REDIS_URL}?prefix=${prefix}` }) },
  { name: 'postgres', available: withPostgres, stores: () => ({ broker: postgres.url }) },
];

afterAll(async () => {
  if (withRedis) await deleteKeys(REDIS_URL, prefix);
  if (withPostgres) await postgres.drop();
});

for (const target of targets) {
  describe.runIf(target.available)(`@OnQueueEvent on ${target.name}`, () => {
    it('an event emitted by a task on the worker reaches the handlers of the API app and of the worker app, with headers and meta', async () => {
      const worker = await boot({ ...target.stores(), worker: { queues: [queue] } });
      const api = await boot({ ...target.stores(), worker: false });
      const [onWorker, onApi] = [worker.get(OrderListeners), api.get(OrderListeners)];
      expect(api.get(StemQueueEventsHost).queues.sort()).toEqual([queue, otherQueue].sort());

      const id = await api.get(StemClient).enqueue('orders.ship', { orderId: 7 });
      expect((await api.get(StemClient).waitForTask(id, { timeout: 10_000 })).value).toBe(7);
      await until(() => onWorker.shipped.length === 1 && onApi.shipped.length === 1, 'both apps got order.shipped');
      for (const listeners of [onWorker, onApi]) {
        expect(listeners.shipped[0]).toMatchObject({ payload: { orderId: 7 }, event: { queue, name: 'order.shipped', headers: { tenant: 'acme' }, meta: { by: 'worker' } } });
      }
      // The throwing handler on the same event is logged in each app; the others still ran.
      expect(errors.filter((e) => e.includes('OrderListeners.explode') && e.includes('a broken listener'))).toHaveLength(2);
    });

    it('filters by name and by queue, and a closed app receives nothing more', async () => {
      const first = await boot({ ...target.stores(), worker: false });
      const second = await boot({ ...target.stores(), worker: false });
      const emitter = first.get(QueueEventsProducer);
      await emitter.emit(otherQueue, 'invoice.draft');
      await emitter.emit(otherQueue, 'invoice.sent');
      await emitter.emit(queue, 'order.created');
      await until(() => second.get(OrderListeners).all.length === 1, 'order.created arrived');
      for (const app of [first, second]) {
        const listeners = app.get(OrderListeners);
        await until(() => listeners.all.length === 1 && listeners.billing.length === 1, 'events arrived');
        expect(listeners.all).toEqual(['order.created']);
        expect(listeners.billing).toEqual(['invoice.sent']);
        expect(listeners.shipped).toEqual([]);
      }

      const closed = second.get(OrderListeners);
      await second.close();
      apps.splice(apps.indexOf(second), 1);
      await emitter.emit(queue, 'order.cancelled');
      await until(() => first.get(OrderListeners).all.length === 2, 'order.cancelled arrived');
      expect(closed.all).toEqual(['order.created']);
    });
  });
}

describe('@OnQueueEvent without broadcast', () => {
  it('fails the bootstrap naming the broker and the handlers', async () => {
    const inner = new InMemoryBroker();
    const queueOnly: Broker = {
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
    const failure = boot({ broker: queueOnly, backend: new InMemoryResultBackend(), worker: false });
    await expect(failure).rejects.toThrow(ConfigurationError);
    await expect(failure).rejects.toThrow(/"queue-only" broker has no broadcast capability, so @OnQueueEvent\(\) OrderListeners\.onShipped, OrderListeners\.onAnything/);
  });
});
