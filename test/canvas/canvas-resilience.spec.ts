import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryGroupStore, InMemoryLockStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { Canvas, chordResults, SimpleTaskRegistry, Stem, task, type TaskHandler, UniqueTaskCoordinator, Worker } from '../../lib/core/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(handlers: TaskHandler[]) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const groupStore = new InMemoryGroupStore();
  const uniqueCoordinator = new UniqueTaskCoordinator({ lockStore: new InMemoryLockStore() });
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry, groupStore, uniqueCoordinator });
  const worker = new Worker({ broker, backend, registry, groupStore, uniqueCoordinator, concurrency: 4 });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, groupStore, stem, worker, canvas: new Canvas(stem) };
}

const square: TaskHandler = { name: 'sq', call: (_ctx, args: { n: number }) => args.n * args.n };
const sum: TaskHandler = { name: 'sum', call: (ctx) => chordResults<number>(ctx).reduce((a, b) => a + b, 0) };

describe('Canvas under failures', () => {
  it('completes a group when recording a member result fails once (the member is redelivered)', async () => {
    const { groupStore, worker, canvas } = setup([square]);
    const addResult = groupStore.addResult.bind(groupStore);
    let failures = 1;
    groupStore.addResult = async (...args) => {
      if (failures-- > 0) throw new Error("READONLY You can't write against a read only replica.");
      return addResult(...args);
    };
    await worker.start();
    const group = await canvas.group([2, 3].map((n) => task<number>('sq', { n })));
    const res = await group.wait({ timeout: 5_000 });
    expect(res).toMatchObject({ isComplete: true, succeeded: true, values: [4, 9] });
  });

  it('runs a chord callback whose first dispatch failed to publish', async () => {
    const { broker, worker, canvas } = setup([square, sum]);
    const publish = broker.publish.bind(broker);
    let failures = 1;
    broker.publish = async (envelope) => {
      if (envelope.name === 'sum' && failures-- > 0) throw new Error('ECONNRESET');
      return publish(envelope);
    };
    await worker.start();
    const chord = await canvas.chord(
      [1, 2, 3].map((n) => task<number>('sq', { n })),
      task<number>('sum', {}),
    );
    const res = await chord.wait({ timeout: 5_000 });
    expect(res.value).toBe(14);
  });

  it('runs unique members of a chord as their own tasks', async () => {
    const uniqueSquare: TaskHandler = { ...square, name: 'usq', options: { unique: true } };
    const { worker, canvas } = setup([uniqueSquare, sum]);
    await worker.start();
    const chord = await canvas.chord([task<number>('usq', { n: 2 }), task<number>('usq', { n: 2 })], task<number>('sum', {}));
    expect(new Set(chord.taskIds).size).toBe(2);
    expect((await chord.wait({ timeout: 5_000 })).value).toBe(8);
  });
});
