import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import type { Broker } from '../../lib/core/contracts/broker.js';
import { RoutingConfigError } from '../../lib/core/routing/routing-config.error.js';
import { commaList, workerSubscriptionFromEnv } from '../../lib/core/routing/worker-subscription.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';

const brokers: InMemoryBroker[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const broker of brokers.splice(0)) await broker.close();
});

function broker(): InMemoryBroker {
  const b = new InMemoryBroker();
  brokers.push(b);
  return b;
}

const registry = () => new SimpleTaskRegistry([{ name: 'reports.daily', options: { queue: 'reports' }, call: () => 1 }]);

describe('worker subscriptions', () => {
  it('parses comma lists, dropping blanks', () => {
    expect(commaList(' a, b,,c ')).toEqual(['a', 'b', 'c']);
    expect(commaList(' , ')).toBeUndefined();
    expect(workerSubscriptionFromEnv({ STEM_WORKER_QUEUES: 'x,y', STEM_WORKER_BROADCASTS: 'cache' })).toEqual({ queues: ['x', 'y'], broadcasts: ['cache'] });
  });

  it('queues: the option, else STEM_WORKER_QUEUES, else the registered tasks’ queues', () => {
    vi.stubEnv('STEM_WORKER_QUEUES', 'emails, reports');
    expect(new Worker({ broker: broker(), registry: registry() }).queues).toEqual(['emails', 'reports']);
    expect(new Worker({ broker: broker(), registry: registry(), queues: ['only'] }).queues).toEqual(['only']);
    vi.stubEnv('STEM_WORKER_QUEUES', '');
    expect(new Worker({ broker: broker(), registry: registry() }).queues).toEqual(['reports']);
  });

  it('with routing, named queues resolve through aliases and the default queue brings its fallbacks', () => {
    const routing = { defaultQueue: { queue: 'primary', fallbacks: ['legacy'] } };
    expect(new Worker({ broker: broker(), registry: new SimpleTaskRegistry(), routing, queues: ['default'] }).queues).toEqual(['primary', 'legacy']);
    expect(new Worker({ broker: broker(), registry: new SimpleTaskRegistry(), routing }).queues).toEqual(['primary', 'legacy']);
  });

  it('broadcasts: the option or STEM_WORKER_BROADCASTS, each adding the worker’s own queue', () => {
    const routing = { broadcasts: ['cache'] };
    vi.stubEnv('STEM_WORKER_BROADCASTS', 'cache');
    const worker = new Worker({ broker: broker(), registry: registry(), routing, id: 'w1' });
    expect(worker.queues).toEqual(['reports', 'cache@w1']);
  });

  it('refuses a channel the routing config does not declare, and a broker without broadcast, at construction', () => {
    const undeclared = (() => {
      try {
        new Worker({ broker: broker(), registry: registry(), routing: { broadcasts: ['cache'] }, broadcasts: ['cahce'] });
      } catch (error) {
        return error;
      }
    })();
    expect(undeclared).toBeInstanceOf(RoutingConfigError);
    expect((undeclared as Error).message).toMatch(/worker\.broadcasts: "cahce" is not a broadcast channel of the routing config \(declared: cache\)/);
    const plain = Object.assign(Object.create(broker()) as Broker, { name: 'plain', broadcast: undefined, subscribeBroadcast: undefined });
    expect(() => new Worker({ broker: plain, registry: registry(), routing: false, broadcasts: ['cache'], id: 'w2' })).toThrow(
      /worker w2 subscribes to cache but the plain broker has no broadcast channel/,
    );
  });

  it('a broadcast message that is not a task is reported and dropped; the worker keeps running', async () => {
    const b = broker();
    const worker = new Worker({ broker: b, registry: registry(), routing: false, broadcasts: ['cache'], id: 'w3' });
    const errors: unknown[] = [];
    worker.signals.on('worker-error', ({ error }) => errors.push(error));
    await worker.start();
    await b.broadcast('stem.tasks.cache', { envelope: { id: 1 } });
    await worker.close();
    expect(String((errors[0] as Error)?.message)).toMatch(/broadcast channel "cache" carried a message that is not a task .*dropped/);
    expect(await b.pendingCount('cache@w3')).toBe(0);
  });
});
