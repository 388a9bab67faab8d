import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { SpanKind, trace } from '@opentelemetry/api';
import { NestFactory } from '@nestjs/core';
import { StemExceptionFilter } from '../lib/index.js';
import { AppModule } from './app.module.js';
import { startTracing } from './tracing.js';

const log = new Logger('Sample');

async function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: await response.json() };
}

async function demo(base: string): Promise<void> {
  log.log('1) POST /emails with valid arguments');
  const sent = await call(base, 'POST', '/emails', { to: 'ada@example.com', subject: 'Welcome to Stem' });
  log.log(`   -> ${sent.status} ${JSON.stringify(sent.json)}`);
  const email = await call(base, 'GET', `/tasks/${sent.json.id}/wait`);
  log.log(`   task ${email.json.status.state}: ${JSON.stringify(email.json.value)} (progress ${email.json.status.progress?.percent}%)`);

  log.log('2) POST /emails with an invalid address: rejected before anything is queued');
  const invalid = await call(base, 'POST', '/emails', { to: 'not-an-email', subject: 42 });
  log.log(`   -> ${invalid.status} ${invalid.json.message.join('; ')}`);

  log.log('3) POST /reports: the task fails on attempt 0, is retried under the same id, succeeds on attempt 1');
  const report = await call(base, 'POST', '/reports', { month: '2026-10' });
  const done = await call(base, 'GET', `/tasks/${report.json.id}/wait`);
  log.log(`   task ${report.json.id} ${done.json.status.state} on attempt ${done.json.status.attempt}: ${JSON.stringify(done.json.value)}`);

  log.log('4) POST /orders: a durable workflow charges, waits for the shipment event, sleeps 200 ms, sends the receipt');
  const order = await call(base, 'POST', '/orders', { orderId: 'A-1001', amount: 4_200, email: 'ada@example.com' });
  const runId = order.json.runId;
  let run = await call(base, 'GET', `/orders/runs/${runId}`);
  for (let i = 0; i < 500 && run.json.state.waitTopic !== 'shipment.A-1001'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    run = await call(base, 'GET', `/orders/runs/${runId}`);
  }
  log.log(`   run ${runId} ${run.json.state.status}, waiting on "${run.json.state.waitTopic}" after ${run.json.steps.map((s: { name: string }) => s.name).join(', ')}`);
  const shipped = await call(base, 'POST', '/orders/A-1001/shipment', { trackingId: 'TRACK-7' });
  log.log(`   POST /orders/A-1001/shipment resumed ${shipped.json.resumed} run`);
  const fulfilled = await call(base, 'GET', `/orders/runs/${runId}/wait`);
  log.log(`   run ${fulfilled.json.state.status}: ${JSON.stringify(fulfilled.json.value)}`);
  const steps = await call(base, 'GET', `/orders/runs/${runId}`);
  log.log(`   checkpoints: ${steps.json.steps.map((s: { name: string }) => s.name).join(', ')}`);
  const badOrder = await call(base, 'POST', '/orders', { orderId: '', amount: 0, email: 'nope' });
  log.log(`   POST /orders with invalid params -> ${badOrder.status} ${badOrder.json.message.join('; ')}`);
}

async function main(): Promise<void> {
  const stopTracing = await startTracing();
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  // NOTE: a span per HTTP request (a no-op without SAMPLE_OTEL), so the tasks a request enqueues join its trace.
  const tracer = trace.getTracer('stem-sample');
  app.use((req: { method: string; path: string }, res: { on(event: 'finish', listener: () => void): void }, next: () => void) =>
    tracer.startActiveSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER }, (span) => {
      res.on('finish', () => span.end());
      next();
    }),
  );
  app.useGlobalFilters(new StemExceptionFilter());
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? (process.env.SAMPLE_SERVE === '1' ? 3000 : 0));
  await app.listen(port, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  log.log(`Listening on ${base}`);
  await demo(base);
  if (process.env.SAMPLE_SERVE === '1') {
    log.log(`Serving until Ctrl+C. Try: curl -XPOST ${base}/emails -H 'content-type: application/json' -d '{"to":"a@b.co","subject":"hi"}'`);
    return;
  }
  log.log('Demo finished; draining the worker and exiting (set SAMPLE_SERVE=1 to keep serving).');
  await app.close();
  await stopTracing?.();
}

main().catch((error) => {
  log.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
