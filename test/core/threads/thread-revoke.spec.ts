import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend } from '../../../lib/adapters/memory/index.js';
import { BroadcastControlChannel, ControlClient, SimpleTaskRegistry, Stem, ThreadExecutor, threadTask, Worker, WorkerControl } from '../../../lib/core/index.js';
import { TS_THREAD_EXEC_ARGV } from '../../support/thread-loader.js';

const TASKS = new URL('./fixtures/thread-tasks.ts', import.meta.url).href;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('revoke with terminate of a thread task', () => {
  it('terminates the thread of a task that ignores ctx.signal after the grace period, ends it cancelled and keeps the pool at size', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const store = new InMemoryControlStore();
    const registry = new SimpleTaskRegistry([
      threadTask({ name: 'threads.spin', file: TASKS, export: 'spin', options: { maxRetries: 3 } }),
      threadTask({ name: 'threads.echo', file: TASKS, export: 'echo' }),
    ]);
    const stem = new Stem({ broker, backend, registry });
    const channel = new BroadcastControlChannel(broker);
    const executor = new ThreadExecutor({ size: 1, execArgv: TS_THREAD_EXEC_ARGV });
    const replaced: string[] = [];
    executor.events.on('thread:replaced', (info) => replaced.push(info.reason));
    const control = new WorkerControl({ store, channel, terminateGracePeriod: 100 });
    const worker = new Worker({ broker, backend, registry, id: 'w1', concurrency: 1, executors: { thread: executor }, extensions: [control.extension] });
    await control.start(worker);
    await worker.start();
    closers.push(
      () => broker.close(),
      () => worker.close({ mode: 'hard' }),
    );

    const id = await stem.enqueue('threads.spin', {});
    const deadline = Date.now() + 20_000;
    while ((await backend.get(id))?.state !== 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new ControlClient({ channel, store }).revoke([id], { terminate: true, reason: 'stuck', timeout: 2_000, expect: 1 });

    const spun = await stem.waitForTask(id, { timeout: 20_000 });
    expect(spun.status?.state).toBe('cancelled');
    expect(spun.status?.meta?.['stem.revoked.reason']).toBe('stuck');
    expect(replaced).toEqual(['terminated']);
    const next = await stem.waitForTask<{ n: number }>(await stem.enqueue('threads.echo', { n: 1 }), { timeout: 20_000 });
    expect(next.value?.n).toBe(1);
    expect(worker.stats().retried).toBe(0);
    expect(executor.stats()).toMatchObject({ size: 1, busy: 0 });
  });
});
