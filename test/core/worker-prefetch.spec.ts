import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../../lib/core/index.js';
import { until } from '../support/until.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
const settle = () => new Promise((r) => setTimeout(r, 30));

describe('worker prefetch', () => {
  it('a busy worker refills its prefetch once half of it is free, never holds more, and leaves no slot idle', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const gates = new Map<string, () => void>();
    const registry = new SimpleTaskRegistry([{ name: 'gated', call: (ctx) => new Promise<void>((resolve) => gates.set(ctx.id, resolve)) }]);
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend, registry, queues: ['default'], concurrency: 1, prefetch: 4 });
    closers.push(
      () => broker.close(),
      () => worker.close({ mode: 'hard' }),
    );
    await worker.start();
    const ids = await stem.enqueueMany(Array.from({ length: 9 }, () => ({ name: 'gated' })));
    const held = () => ({ running: worker.snapshot().running.length, prefetched: worker.snapshot().prefetched.length });
    await until(() => held().prefetched === 4);
    expect(held()).toEqual({ running: 1, prefetched: 4 });

    const finish = async (id: string) => {
      await until(() => gates.has(id));
      gates.get(id)!();
      await until(async () => (await backend.get(id))?.state === 'succeeded');
      await settle();
    };
    await finish(ids[0]!);
    // NOTE: one place free of four: not fetched yet; two free: fetched together.
    expect(held()).toEqual({ running: 1, prefetched: 3 });
    await finish(ids[1]!);
    expect(held()).toEqual({ running: 1, prefetched: 4 });
    expect(await broker.pendingCount('default')).toBe(2);

    for (const id of ids.slice(2)) {
      await finish(id);
      expect(held().running, 'a slot stays busy while tasks wait').toBe(id === ids.at(-1) ? 0 : 1);
      expect(held().prefetched).toBeLessThanOrEqual(4);
    }
    expect(held()).toEqual({ running: 0, prefetched: 0 });
  });
});
