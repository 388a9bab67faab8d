import { AggregationTemporality, type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { SimpleTaskRegistry, Stem, Worker } from '../../lib/core/index.js';
import { StemMetrics } from '../../lib/core/observability/index.js';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

async function collected(reader: TestReader): Promise<Map<string, DataPoint<number | Histogram>[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, DataPoint<number | Histogram>[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints as DataPoint<number | Histogram>[]);
  }
  return out;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('StemMetrics (OpenTelemetry)', () => {
  it('counts task outcomes, records durations, and observes inflight and queue depth', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const registry = new SimpleTaskRegistry([
      { name: 'ok', call: () => 'fine' },
      {
        name: 'flaky',
        options: { maxRetries: 1, retryPolicy: { backoff: 5, jitter: false } },
        call: (ctx) => {
          if (ctx.attempt === 0) throw new Error('x');
        },
      },
      {
        name: 'bad',
        call: () => {
          throw new Error('always');
        },
      },
    ]);
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend, registry, concurrency: 2 });
    const telemetry = new StemMetrics(provider);
    const stop = telemetry.instrumentWorker(worker, broker);
    cleanups.push(async () => {
      stop();
      await worker.close();
      await broker.close();
      await provider.shutdown();
    });
    await worker.start();
    const ids = [await stem.enqueue('ok'), await stem.enqueue('ok'), await stem.enqueue('flaky'), await stem.enqueue('bad')];
    for (const id of ids) await stem.waitForTask(id, { timeout: 2_000 });
    await new Promise((r) => setTimeout(r, 20));
    const data = await collected(reader);
    const sumOf = (name: string, task?: string) => (data.get(name) ?? []).filter((p) => !task || p.attributes['stem.task'] === task).reduce((n, p) => n + (p.value as number), 0);
    expect(sumOf('stem.tasks.started')).toBe(5);
    expect(sumOf('stem.tasks.succeeded', 'ok')).toBe(2);
    expect(sumOf('stem.tasks.succeeded', 'flaky')).toBe(1);
    expect(sumOf('stem.tasks.retried', 'flaky')).toBe(1);
    expect(sumOf('stem.tasks.failed', 'bad')).toBe(1);
    expect(data.get('stem.tasks.dead_lettered')?.[0]?.attributes).toMatchObject({ 'stem.task': 'bad', reason: 'max-retries-exhausted' });
    const durations = data.get('stem.task.duration')!;
    expect(durations.reduce((n, p) => n + (p.value as Histogram).count, 0)).toBe(3);
    expect(data.get('stem.worker.inflight')?.[0]?.value).toBe(0);
    expect(data.get('stem.queue.depth')?.[0]).toMatchObject({ value: 0, attributes: { 'stem.queue': 'default' } });
  });

  it('turns Beat metrics into drift histograms and counters', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    const hook = new StemMetrics(provider).beatHook();
    hook({ name: 'stem.scheduler.drift', value: 12, unit: 'ms', attributes: { 'stem.schedule': 'a' } });
    hook({ name: 'stem.scheduler.drift', value: 30, unit: 'ms', attributes: { 'stem.schedule': 'a' } });
    hook({ name: 'stem.scheduler.dispatch.success', value: 1, unit: '1', attributes: { 'stem.schedule': 'a' } });
    const data = await collected(reader);
    const drift = data.get('stem.scheduler.drift')![0]!.value as Histogram;
    expect(drift).toMatchObject({ count: 2, sum: 42, min: 12, max: 30 });
    expect(data.get('stem.scheduler.dispatch.success')![0]!.value).toBe(1);
  });
});
