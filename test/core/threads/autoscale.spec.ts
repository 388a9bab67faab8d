import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../../lib/adapters/memory/index.js';
import { ConfigurationError, SimpleTaskRegistry, Stem, TestClock, ThreadExecutor, threadTask, Worker } from '../../../lib/core/index.js';
import { TS_THREAD_EXEC_ARGV } from '../../support/thread-loader.js';
import { until } from '../../support/until.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const autoscale = { min: 1, max: 4, backlogPerSlot: 2, scaleUpCooldown: 1_000, scaleDownCooldown: 2_000, idlePeriod: 5_000, interval: 1_000 };

function setup(extra: { thread?: ThreadExecutor; scaleUpCooldown?: number } = {}) {
  const clock = new TestClock();
  const broker = new InMemoryBroker({ clock });
  const backend = new InMemoryResultBackend();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let running = 0;
  let peak = 0;
  const registry = new SimpleTaskRegistry([
    {
      name: 'io.wait',
      call: async () => {
        running++;
        peak = Math.max(peak, running);
        await gate;
        running--;
      },
    },
  ]);
  const stem = new Stem({ broker, backend, registry, clock });
  const worker = new Worker({
    broker,
    backend,
    registry,
    clock,
    prefetch: 0,
    autoscale: { ...autoscale, ...(extra.scaleUpCooldown ? { scaleUpCooldown: extra.scaleUpCooldown } : {}) },
    ...(extra.thread ? { executors: { thread: extra.thread } } : {}),
  });
  const scaled: { from: number; to: number; reason: string }[] = [];
  worker.signals.on('worker-scaled', ({ from, to, reason }) => scaled.push({ from, to, reason }));
  closers.push(async () => {
    open();
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { clock, stem, worker, scaled, open: () => open(), running: () => running, peak: () => peak };
}

describe('worker autoscale', () => {
  it('grows from min to max under a backlog, never past max, and shrinks back after the idle period', async () => {
    const { clock, stem, worker, scaled, open, running, peak } = setup();
    expect(worker.concurrency).toBe(1);
    for (let i = 0; i < 10; i++) await stem.enqueue('io.wait', {});
    await worker.start();
    await until(() => running() === 1, 10_000, 10);

    await clock.advance(1_000);
    expect(scaled).toEqual([{ from: 1, to: 4, reason: 'backlog' }]);
    await until(() => running() === 4, 10_000, 10);
    await clock.advance(5_000);
    expect(worker.concurrency).toBe(4);
    expect(peak()).toBe(4);

    open();
    await until(() => worker.stats().succeeded === 10, 10_000, 10);
    expect(peak()).toBe(4);
    await clock.advance(4_000);
    expect(worker.concurrency).toBe(4);
    await clock.advance(2_000);
    expect(scaled).toEqual([
      { from: 1, to: 4, reason: 'backlog' },
      { from: 4, to: 1, reason: 'idle' },
    ]);
    expect(worker.concurrency).toBe(1);
  });

  it('waits scaleUpCooldown between two scale-ups', async () => {
    const { clock, stem, worker, scaled, running } = setup({ scaleUpCooldown: 3_000 });
    for (let i = 0; i < 3; i++) await stem.enqueue('io.wait', {});
    await worker.start();
    await until(() => running() === 1, 10_000, 10);
    await clock.advance(1_000);
    expect(scaled).toEqual([{ from: 1, to: 2, reason: 'backlog' }]);
    await until(() => running() === 2, 10_000, 10);
    for (let i = 0; i < 6; i++) await stem.enqueue('io.wait', {});
    await clock.advance(2_000);
    expect(scaled).toHaveLength(1);
    await clock.advance(1_000);
    expect(scaled.at(-1)).toEqual({ from: 2, to: 4, reason: 'backlog' });
    expect(worker.concurrency).toBe(4);
  });

  it('resizes a thread pool with the worker, below its size', async () => {
    const thread = new ThreadExecutor({ size: 2, execArgv: TS_THREAD_EXEC_ARGV });
    const { clock, stem, worker, running } = setup({ thread });
    expect(thread.stats().target).toBe(1);
    for (let i = 0; i < 10; i++) await stem.enqueue('io.wait', {});
    await worker.start();
    await until(() => running() === 1, 10_000, 10);
    await clock.advance(1_000);
    expect(worker.concurrency).toBe(4);
    expect(thread.stats().target).toBe(2);
  });

  it('refuses a max below min', () => {
    const broker = new InMemoryBroker();
    const registry = new SimpleTaskRegistry([threadTask({ name: 'x', file: '/x.js', export: 'x' })]);
    expect(() => new Worker({ broker, registry, autoscale: { min: 4, max: 2 } })).toThrow(ConfigurationError);
  });
});
