import 'reflect-metadata';
import { Injectable, type LoggerService, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { StemClient, StemModule, Task, type TaskContext } from '../lib/index.js';
import { memoryTracing, named } from '../test/support/tracing.js';

@Injectable()
class ReportTasks {
  @Task({ name: 'tracing.report', queue: 'reports', maxRetries: 1, retryPolicy: { backoff: 5, jitter: false } })
  build(_args: { month: string }, ctx: TaskContext): string {
    ctx.logger.info(`building, attempt ${ctx.attempt}`);
    if (ctx.attempt === 0) throw new Error('warehouse connection reset');
    return 'built';
  }
}

class CapturingLogger implements LoggerService {
  readonly lines: { message: string; context?: string }[] = [];
  log(message: string, context?: string) {
    this.lines.push({ message, ...(context ? { context } : {}) });
  }
  error() {}
  warn() {}
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  trace.disable();
});

async function app(telemetry?: object) {
  const tracing = memoryTracing();
  trace.setGlobalTracerProvider(tracing.provider);
  @Module({ imports: [StemModule.forRoot({ ...(telemetry ? { telemetry } : {}) })], providers: [ReportTasks] })
  class AppModule {}
  const logger = new CapturingLogger();
  const nest = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger });
  await nest.init();
  closers.push(async () => {
    await nest.close();
    await tracing.provider.shutdown();
  });
  return { stem: nest.get(StemClient), logger, ...tracing };
}

describe('Tracing in a Nest app', () => {
  it('one trace follows a request through the send span and both attempts; ctx.logger lines carry the trace id', async () => {
    const { stem, spans, logger } = await app();
    const id = await trace.getTracer('http').startActiveSpan('POST /reports', async (request) => {
      try {
        return await stem.enqueue('tracing.report', { month: '2026-10' });
      } finally {
        request.end();
      }
    });
    expect((await stem.waitForTask(id, { timeout: 5_000 })).status?.state).toBe('succeeded');
    const [request] = named(spans(), 'POST /reports');
    const [send] = named(spans(), 'send reports');
    const attempts = named(spans(), 'process reports');
    expect(send).toMatchObject({ traceId: request!.traceId, parentSpanId: request!.spanId });
    expect(attempts.map((a) => [a.traceId, a.parentSpanId, a.attributes['stem.task.state']])).toEqual([
      [request!.traceId, send!.spanId, 'retried'],
      [request!.traceId, send!.spanId, 'succeeded'],
    ]);
    const taskLines = logger.lines.filter((l) => l.context === 'tracing.report');
    expect(taskLines.map((l) => l.message)).toEqual([
      `building, attempt 0 (task ${id} attempt 0 trace ${request!.traceId})`,
      `building, attempt 1 (task ${id} attempt 1 trace ${request!.traceId})`,
    ]);
  });

  it('telemetry: { traces: false } records no span', async () => {
    const { stem, spans } = await app({ traces: false });
    const id = await stem.enqueue('tracing.report', { month: '2026-10' });
    await stem.waitForTask(id, { timeout: 5_000 });
    expect(spans()).toEqual([]);
  });

  it("telemetry: { traces: { parentage: 'link' } } starts each attempt in its own trace, linked to the send span", async () => {
    const { stem, spans } = await app({ traces: { parentage: 'link' } });
    const id = await stem.enqueue('tracing.report', { month: '2026-10' });
    await stem.waitForTask(id, { timeout: 5_000 });
    const [send] = named(spans(), 'send reports');
    const attempts = named(spans(), 'process reports');
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.traceId).not.toBe(send!.traceId);
      expect(attempt.links.map((l) => l.spanId)).toEqual([send!.spanId]);
    }
  });
});
