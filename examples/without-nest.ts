import { SimpleTaskRegistry, Stem, Worker, type TaskHandler } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const add: TaskHandler<{ x: number; y: number }, number> = {
  name: 'add',
  options: { maxRetries: 2 },
  call: async (_ctx, args) => args.x + args.y,
};
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([add]);
const worker = new Worker({ broker, backend, registry, concurrency: 4 });
await worker.start();
const stem = new Stem({ broker, backend, registry });
const id = await stem.enqueue('add', { x: 2, y: 3 });
console.log((await stem.waitForTask<number>(id, { timeout: 5_000 })).value); // 5
await worker.close();
