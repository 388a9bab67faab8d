import { ConfigurationError, type Envelope, SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([{ name: 'add', call: async (_ctx, { x, y }: { x: number; y: number }) => x + y }]);
const stem = new Stem({ broker, backend, registry });
const worker = new Worker({ broker, backend, registry, queues: ['default'] });
await worker.start();

// #region bad-input
// At enqueue: refused before anything is published, naming the option.
try {
  await stem.enqueue('add', { x: 1, y: 2 }, { priority: 12 });
} catch (error) {
  if (error instanceof ConfigurationError) console.log(error.option); // priority
}

// In the queue (another client, an older release, a hand edit): dead-lettered, never run.
await broker.publish({ id: 'bad-1', name: 'add', queue: 'default', args: {}, priority: 42 } as unknown as Envelope);
const id = await stem.enqueue('add', { x: 2, y: 3 });
console.log((await stem.waitForTask<number>(id, { timeout: 5_000 })).value); // 5: its neighbours still run
const [dead] = (await broker.listDeadLetters('default')).items;
console.log(dead?.reason, dead?.envelope.id, (dead?.meta.error as Error).message);
// malformed-envelope bad-1 priority must be an integer from 0 to 9
// #endregion
await worker.close();
