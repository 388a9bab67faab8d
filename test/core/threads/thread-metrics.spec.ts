import { AggregationTemporality, type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, TestClock, ThreadExecutor, threadTask, Worker } from '../../../lib/core/index.js';
import { StemMetricNames, StemMetrics } from '../../../lib/core/observability/index.js';
import { TS_THREAD_EXEC_ARGV } from '../../support/thread-loader.js';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

async function points(reader: TestReader, name: string): Promise<DataPoint<number>[]> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<number>[];
  return [];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('thread pool and autoscale metrics', () => {
  it('count replacements by reason, observe the pool, and count scaling with its direction', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const clock = new TestClock();
    const broker = new InMemoryBroker({ clock });
    const backend = new InMemoryResultBackend();
    const file = new URL('./fixtures/thread-tasks.ts', import.meta.url).href;
    const registry = new SimpleTaskRegistry([threadTask({ name: 'echo', file, export: 'echo' })]);
    const stem = new Stem({ broker, backend, registry, clock });
    const thread = new ThreadExecutor({ size: 2, maxTasksPerThread: 1, execArgv: TS_THREAD_EXEC_ARGV });
    const worker = new Worker({ broker, backend, registry, clock, prefetch: 0, executors: { thread }, autoscale: { min: 1, max: 2, interval: 1_000 } });
    const metrics = new StemMetrics(provider);
    const stops = [metrics.instrumentWorker(worker, broker), metrics.instrumentThreadPool(thread, worker.id)];
    cleanups.push(async () => {
      stops.forEach((stop) => stop());
      await worker.close({ mode: 'hard' });
      await broker.close();
      await provider.shutdown();
    });
    for (let n = 0; n < 3; n++) await stem.enqueue('echo', { n });
    await clock.advance(1_000);
    await worker.start();
    await clock.advance(1_000);
    await expect.poll(() => worker.stats().succeeded, { timeout: 20_000 }).toBe(3);

    const replaced = await points(reader, StemMetricNames.threadsReplaced);
    expect(replaced.find((p) => p.attributes.reason === 'max-tasks')?.value).toBe(3);
    expect((await points(reader, StemMetricNames.threadsSize))[0]?.value).toBeGreaterThan(0);
    expect((await points(reader, StemMetricNames.threadsBusy))[0]?.value).toBe(0);
    const scaled = await points(reader, StemMetricNames.workerScaled);
    expect(scaled.find((p) => p.attributes.direction === 'up')?.value).toBe(1);
    expect((await points(reader, StemMetricNames.workerConcurrency))[0]?.value).toBe(2);
  });
});
