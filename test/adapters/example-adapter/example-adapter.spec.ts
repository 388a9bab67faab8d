import { describe, expect, it } from 'vitest';
import './example.adapter.js';
import { createStemAdapters } from '../../../lib/adapters/stem-adapters.factory.js';
import { registeredSchemes } from '../../../lib/adapters/registry/index.js';
import { brokerCapabilities, type Broker } from '../../../lib/core/contracts/broker.js';
import { Stem } from '../../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../../lib/core/task-registry.js';
import { Worker } from '../../../lib/core/worker/worker.js';
import { runBrokerContractTests } from '../../../lib/testing/broker.contract.js';
import { uniqueName } from '../../../lib/testing/contract-helpers.js';
import { ExampleBroker } from './example.broker.js';

// An in-process store is its own backing store: every "instance" of one test is the same object.
let broker: Broker | undefined;
runBrokerContractTests('example', {
  create: async () => (broker ??= new ExampleBroker()),
  dispose: async (b) => {
    await b.close();
    broker = undefined;
  },
});

describe('a store added as a folder plus one registration', () => {
  it('is chosen by its URL scheme, next to the built-in ones', async () => {
    expect(registeredSchemes()).toEqual(expect.arrayContaining(['memory', 'redis', 'rediss', 'postgres', 'postgresql', 'example']));
    const adapters = await createStemAdapters({ broker: 'example://local' });
    try {
      expect(adapters.broker).toBeInstanceOf(ExampleBroker);
      expect(adapters.broker.name).toBe('example');
      expect(brokerCapabilities(adapters.broker)).toEqual(['dead-letter-admin']);
      // NOTE: the example registers no schedule store; without Beat that is no error.
      expect(adapters.scheduleStore).toBeNull();
    } finally {
      await adapters.close();
    }
  });

  it('says which option needs a kind of store it does not have', async () => {
    await expect(createStemAdapters({ broker: 'example://local', beat: true })).rejects.toThrow(
      /Invalid option "scheduleStore": "example:\/\/local" has no scheduleStore; give "scheduleStore" a URL of a store that has one/,
    );
    const adapters = await createStemAdapters({ broker: 'example://local', beat: true, scheduleStore: 'memory://' });
    expect(adapters.scheduleStore?.name).toBe('memory');
    await adapters.close();
  });

  it('runs tasks end to end: the producer and the worker need no optional capability', async () => {
    const adapters = await createStemAdapters({ broker: 'example://local' });
    const queue = uniqueName('example');
    const registry = new SimpleTaskRegistry();
    registry.register({ name: 'example.double', options: { queue }, call: async (_ctx, args: { n: number }) => args.n * 2 });
    const stem = new Stem({ broker: adapters.broker, backend: adapters.backend!, registry });
    const worker = new Worker({ broker: adapters.broker, backend: adapters.backend!, registry, queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      const ids = await Promise.all([1, 2, 3].map((n) => stem.enqueue('example.double', { n }, { priority: n })));
      const results = await Promise.all(ids.map((id) => stem.waitForTask<number>(id, { timeout: 5_000 })));
      expect(results.map((r) => r.value)).toEqual([2, 4, 6]);
      expect(await adapters.broker.pendingCount(queue)).toBe(0);
    } finally {
      await worker.close();
      await adapters.close();
    }
  });
});
