import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { StemClient, StemModule, Task } from '../lib/index.js';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

@Injectable()
class Tasks {
  @Task({ name: 'telemetry.ok' })
  ok(): string {
    return 'ok';
  }
}

describe('Telemetry in a Nest app', () => {
  it('exports stem.tasks.* through the globally registered OpenTelemetry MeterProvider', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    @Module({ imports: [StemModule.forRoot({})], providers: [Tasks] })
    class AppModule {}
    const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
    await app.init();
    const stem = app.get(StemClient);
    for (let i = 0; i < 3; i++) await stem.waitForTask(await stem.enqueue('telemetry.ok'), { timeout: 2_000 });
    await new Promise((r) => setTimeout(r, 20));
    const { resourceMetrics } = await reader.collect();
    const succeeded = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'stem.tasks.succeeded');
    expect(succeeded?.dataPoints.reduce((n, p) => n + (p.value as number), 0)).toBe(3);
    await app.close();
    await provider.shutdown();
    metrics.disable();
  });
});
