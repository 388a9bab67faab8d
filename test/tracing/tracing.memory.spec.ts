import { randomBytes } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryGroupStore, InMemoryLockStore, InMemoryResultBackend, InMemoryScheduleStore } from '../../lib/adapters/memory/index.js';
import {
  Beat,
  Canvas,
  EnvelopeSigner,
  Schedules,
  SimpleTaskRegistry,
  Stem,
  StemScheduler,
  task,
  TestClock,
  type TaskHandler,
  type TaskLogFields,
  Worker,
  type WorkerOptions,
} from '../../lib/core/index.js';
import { memoryTracing, named, type SpanRecord } from '../support/tracing.js';

const SECRET = 'secret-arg-7f3a';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function world(handlers: TaskHandler[], extra: { worker?: Partial<WorkerOptions>; stem?: Partial<ConstructorParameters<typeof Stem>[0]> } = {}) {
  const tracing = memoryTracing();
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const groupStore = new InMemoryGroupStore();
  const registry = new SimpleTaskRegistry(handlers);
  const stem = new Stem({ broker, backend, registry, groupStore, tracing: { tracerProvider: tracing.provider }, ...extra.stem });
  const worker = new Worker({ broker, backend, registry, groupStore, producer: stem, id: 'worker-1', tracing: { tracerProvider: tracing.provider }, ...extra.worker });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
    await tracing.provider.shutdown();
  });
  return { ...tracing, broker, backend, stem, worker, registry, groupStore };
}

const fast = { maxRetries: 2, retryPolicy: { backoff: 5, jitter: false } } as const;

/** Every attribute value of every span, as text. */
const attributeText = (spans: readonly SpanRecord[]) => spans.flatMap((s) => Object.values(s.attributes).map(String)).join('\n');

describe('Tracing (OpenTelemetry messaging conventions)', () => {
  it('a task gets a send span and a process span that is its child, with the conventional attributes and no args', async () => {
    const w = world([{ name: 'mail.send', options: { queue: 'mail' }, call: (_ctx, args: { to: string }) => ({ sentTo: args.to, [SECRET]: SECRET }) }]);
    await w.worker.start();
    const id = await w.stem.enqueue('mail.send', { to: SECRET });
    await w.stem.waitForTask(id, { timeout: 5_000 });
    const [send] = named(w.spans(), 'send mail');
    const [process] = named(w.spans(), 'process mail');
    expect(send).toMatchObject({ kind: 'producer', status: 0 });
    expect(send!.attributes).toEqual({
      'messaging.system': 'stem',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'mail',
      'messaging.message.id': id,
      'stem.task.name': 'mail.send',
      'stem.task.attempt': 0,
    });
    expect(process).toMatchObject({ kind: 'consumer', traceId: send!.traceId, parentSpanId: send!.spanId });
    expect(process!.links).toEqual([{ traceId: send!.traceId, spanId: send!.spanId, attributes: {} }]);
    expect(process!.attributes).toEqual({
      'messaging.system': 'stem',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'mail',
      'messaging.message.id': id,
      'messaging.consumer.group.name': 'mail',
      'messaging.client.id': 'worker-1',
      'stem.task.name': 'mail.send',
      'stem.task.attempt': 0,
      'stem.task.state': 'succeeded',
    });
    expect(attributeText(w.spans())).not.toContain(SECRET);
    const status = await w.backend.get(id);
    expect(status?.state).toBe('succeeded');
  });

  it("a retried task's attempts are siblings under its one send span; the failed one ends ERROR with error.type", async () => {
    class WarehouseDown extends Error {
      override name = 'WarehouseDown';
    }
    const w = world([
      {
        name: 'report',
        options: fast,
        call: (ctx) => {
          if (ctx.attempt === 0) throw new WarehouseDown('reset');
          return 'ok';
        },
      },
    ]);
    await w.worker.start();
    const id = await w.stem.enqueue('report', { secret: SECRET });
    expect((await w.stem.waitForTask(id, { timeout: 5_000 })).status?.state).toBe('succeeded');
    const sends = named(w.spans(), 'send default');
    const attempts = named(w.spans(), 'process default').sort((a, b) => Number(a.attributes['stem.task.attempt']) - Number(b.attributes['stem.task.attempt']));
    expect(sends).toHaveLength(1);
    expect(attempts.map((a) => [a.traceId, a.parentSpanId])).toEqual([
      [sends[0]!.traceId, sends[0]!.spanId],
      [sends[0]!.traceId, sends[0]!.spanId],
    ]);
    expect(attempts[0]).toMatchObject({ status: 2, attributes: { 'error.type': 'WarehouseDown', 'stem.task.state': 'retried', 'stem.task.attempt': 0 } });
    expect(attempts[1]).toMatchObject({ status: 0, attributes: { 'stem.task.state': 'succeeded', 'stem.task.attempt': 1 } });
    expect(attempts[1]!.attributes['error.type']).toBeUndefined();
  });

  it('the last failed attempt ends ERROR with state failed', async () => {
    const w = world([
      {
        name: 'doomed',
        options: { maxRetries: 0 },
        call: () => {
          throw new TypeError('nope');
        },
      },
    ]);
    await w.worker.start();
    const id = await w.stem.enqueue('doomed');
    await w.stem.waitForTask(id, { timeout: 5_000 });
    const [process] = named(w.spans(), 'process default');
    expect(process).toMatchObject({ status: 2, attributes: { 'error.type': 'TypeError', 'stem.task.state': 'failed' } });
  });

  it('the handler runs with its process span active: its own spans and child tasks nest under it', async () => {
    const w = world([
      {
        name: 'parent',
        call: async (ctx) => {
          await trace.getTracer('app').startActiveSpan('charge card', async (span) => span.end());
          await ctx.enqueue('child');
          return trace.getSpanContext(context.active())?.spanId;
        },
      },
      { name: 'child', call: () => 'done' },
    ]);
    trace.setGlobalTracerProvider(w.provider);
    closers.push(async () => trace.disable());
    await w.worker.start();
    const id = await w.stem.enqueue('parent');
    const { value: activeSpanId } = await w.stem.waitForTask<string>(id, { timeout: 5_000 });
    const spans = w.spans();
    const parentProcess = spans.find((s) => s.name === 'process default' && s.attributes['stem.task.name'] === 'parent')!;
    expect(activeSpanId).toBe(parentProcess.spanId);
    expect(named(spans, 'charge card')[0]!.parentSpanId).toBe(parentProcess.spanId);
    const childSend = spans.find((s) => s.name === 'send default' && s.attributes['stem.task.name'] === 'child')!;
    expect(childSend).toMatchObject({ traceId: parentProcess.traceId, parentSpanId: parentProcess.spanId });
    expect(childSend.attributes).toMatchObject({ 'stem.task.parent_id': id, 'stem.task.root_id': id });
    await expect.poll(() => w.spans().some((s) => s.name === 'process default' && s.attributes['stem.task.name'] === 'child'), { timeout: 5_000 }).toBe(true);
    const childProcess = w.spans().find((s) => s.name === 'process default' && s.attributes['stem.task.name'] === 'child')!;
    expect(childProcess).toMatchObject({ traceId: parentProcess.traceId, parentSpanId: childSend.spanId });
  });

  it("a chain's steps and a chord's callback stay in the trace of the original enqueue", async () => {
    const w = world([
      { name: 'step', call: (_ctx, args: { n: number }) => args.n + 1 },
      { name: 'member', call: (_ctx, args: { n: number }) => args.n },
      { name: 'sum', call: () => 'summed' },
    ]);
    await w.worker.start();
    const canvas = new Canvas(w.stem);
    const chain = await canvas.chain([task('step', { n: 1 }), task('step', { n: 2 }), task('step', { n: 3 })]);
    await chain.wait({ timeout: 5_000 });
    const chainSpans = w.spans().filter((s) => s.attributes['stem.task.name'] === 'step');
    const chainSends = chainSpans.filter((s) => s.kind === 'producer');
    expect(chainSends).toHaveLength(3);
    expect(chainSpans.filter((s) => s.kind === 'consumer')).toHaveLength(3);
    expect(new Set(chainSpans.map((s) => s.traceId)).size).toBe(1);
    const rootSend = chainSends.find((s) => s.parentSpanId === undefined)!;
    expect(rootSend.attributes['messaging.message.id']).toBe(chain.taskIds[0]);
    expect(chainSends.find((s) => s.attributes['messaging.message.id'] === chain.taskIds[1])!.attributes['stem.chain.id']).toBe(chain.chainId);

    w.reset();
    const chord = await canvas.chord([task('member', { n: 1 }), task('member', { n: 2 })], task('sum', {}));
    await chord.wait({ timeout: 5_000 });
    await expect.poll(() => named(w.spans(), 'process default').filter((s) => s.attributes['stem.task.name'] === 'sum').length, { timeout: 5_000 }).toBe(1);
    const spans = w.spans();
    const [chordSpan] = named(spans, 'chord');
    expect(chordSpan).toMatchObject({ kind: 'internal', attributes: { 'stem.group.id': chord.groupId, 'stem.group.size': 2 } });
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([chordSpan!.traceId]));
    const callbackSend = spans.find((s) => s.kind === 'producer' && s.attributes['stem.task.name'] === 'sum')!;
    expect(callbackSend.attributes['stem.chord.id']).toBe(chord.groupId);
  });

  it('link and linkError callbacks stay in the trace of the task that triggered them', async () => {
    const w = world([
      { name: 'ok', call: () => 1 },
      {
        name: 'bad',
        options: { maxRetries: 0 },
        call: () => {
          throw new Error('x');
        },
      },
      { name: 'after', call: () => 2 },
    ]);
    await w.worker.start();
    await w.stem.enqueue('ok', {}, { link: [task('after', {})] });
    await w.stem.enqueue('bad', {}, { linkError: [task('after', {})] });
    await expect.poll(() => named(w.spans(), 'process default').filter((s) => s.attributes['stem.task.name'] === 'after').length, { timeout: 5_000 }).toBe(2);
    const spans = w.spans();
    for (const trigger of ['ok', 'bad']) {
      const send = spans.find((s) => s.kind === 'producer' && s.attributes['stem.task.name'] === trigger)!;
      const callback = spans.find((s) => s.kind === 'producer' && s.attributes['stem.task.name'] === 'after' && s.parentSpanId === send.spanId);
      expect(callback?.traceId).toBe(send.traceId);
    }
  });

  it('a replayed dead letter is sent in a new trace that links to the original one; its attempt runs under the replay', async () => {
    let fail = true;
    const w = world([
      {
        name: 'flaky',
        options: { maxRetries: 0 },
        call: () => {
          if (fail) throw new Error('down');
          return 'ok';
        },
      },
    ]);
    await w.worker.start();
    const id = await w.stem.enqueue('flaky');
    await w.stem.waitForTask(id, { timeout: 5_000 });
    const [original] = named(w.spans(), 'send default');
    fail = false;
    w.reset();
    const replay = await w.stem.replayDeadLetters('default');
    expect(replay.entries).toHaveLength(1);
    await expect.poll(() => named(w.spans(), 'process default').length, { timeout: 5_000 }).toBe(1);
    const [replaySend] = named(w.spans(), 'send default');
    const [process] = named(w.spans(), 'process default');
    expect(replaySend!.traceId).not.toBe(original!.traceId);
    expect(replaySend).toMatchObject({ attributes: { 'stem.task.replayed': true, 'stem.task.attempt': 1, 'messaging.message.id': id } });
    expect(replaySend!.links).toEqual([{ traceId: original!.traceId, spanId: original!.spanId, attributes: { 'stem.task.replayed': true } }]);
    expect(process).toMatchObject({ traceId: replaySend!.traceId, parentSpanId: replaySend!.spanId, attributes: { 'stem.task.state': 'succeeded' } });
  });

  it("parentage 'link' starts each attempt's trace anew, linked to the send span", async () => {
    const w = world([{ name: 'ok', call: () => 1 }], { worker: {} });
    const linked = memoryTracing();
    const worker = new Worker({ broker: w.broker, backend: w.backend, registry: w.registry, queues: ['default'], tracing: { tracerProvider: linked.provider, parentage: 'link' } });
    closers.push(() => worker.close({ mode: 'hard' }));
    await worker.start();
    const id = await w.stem.enqueue('ok');
    await w.stem.waitForTask(id, { timeout: 5_000 });
    const [send] = named(w.spans(), 'send default');
    const [process] = named(linked.spans(), 'process default');
    expect(process!.parentSpanId).toBeUndefined();
    expect(process!.traceId).not.toBe(send!.traceId);
    expect(process!.links).toEqual([{ traceId: send!.traceId, spanId: send!.spanId, attributes: {} }]);
  });

  it('bulk enqueue opens one send span per item; a rate-limit delay keeps the send context', async () => {
    const w = world([{ name: 'limited', options: { rateLimit: '1/s' }, call: () => 1 }]);
    const ids = await w.stem.enqueueMany([{ name: 'limited' }, { name: 'limited' }]);
    const sends = named(w.spans(), 'send default');
    expect(sends.map((s) => s.attributes['messaging.message.id']).sort()).toEqual([...ids].sort());
    const delayed: string[] = [];
    w.worker.signals.on('task-rate-limited', ({ envelope: env }) => delayed.push(env.id));
    await w.worker.start();
    for (const id of ids) await w.stem.waitForTask(id, { timeout: 10_000 });
    expect(delayed.length).toBeGreaterThan(0);
    const processes = named(w.spans(), 'process default');
    expect(processes).toHaveLength(2);
    for (const p of processes) {
      const send = sends.find((s) => s.attributes['messaging.message.id'] === p.attributes['messaging.message.id'])!;
      expect(p).toMatchObject({ traceId: send.traceId, parentSpanId: send.spanId });
    }
  }, 15_000);

  it('signed envelopes carry the trace headers inside the signature, and retries still verify', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: randomBytes(32).toString('base64') }, activeKey: 'k1' });
    const w = world([{ name: 'signed', options: fast, call: (ctx) => (ctx.attempt === 0 ? ctx.retry({ countdown: 5 }) : 'ok') }], { stem: { signer }, worker: { signer } });
    const dead: string[] = [];
    w.worker.signals.on('task-dead-lettered', ({ reason }) => dead.push(reason));
    await w.worker.start();
    const id = await w.stem.enqueue('signed');
    expect((await w.stem.waitForTask(id, { timeout: 5_000 })).status?.state).toBe('succeeded');
    expect(dead).toEqual([]);
    const [send] = named(w.spans(), 'send default');
    const attempts = named(w.spans(), 'process default');
    expect(attempts.map((a) => a.parentSpanId)).toEqual([send!.spanId, send!.spanId]);
    const tampered = signer.sign(w.stem.buildEnvelope('signed', {}));
    expect(signer.verify({ ...tampered, headers: { ...tampered.headers, traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } }).valid).toBe(false);
  });

  it('Beat opens a dispatch span and the scheduled task is sent under it', async () => {
    const w = world([{ name: 'nightly', call: () => 1 }]);
    const clock = new TestClock(Date.UTC(2030, 0, 1));
    const store = new InMemoryScheduleStore({ clock });
    await new StemScheduler({ store, clock }).add({ id: 'nightly-report', task: 'nightly', schedule: Schedules.every('1h', { startAt: clock.now() + 1_000 }) });
    const beat = new Beat({ store, stem: w.stem, lockStore: new InMemoryLockStore({ clock }), clock, tracing: { tracerProvider: w.provider } });
    closers.push(() => beat.stop());
    await clock.advance(1_000);
    expect(await beat.runOnce()).toEqual(['nightly-report']);
    const [dispatch] = named(w.spans(), 'beat nightly-report');
    const [send] = named(w.spans(), 'send default');
    expect(dispatch).toMatchObject({ kind: 'internal', attributes: { 'stem.schedule.id': 'nightly-report', 'stem.task.name': 'nightly' } });
    expect(send).toMatchObject({ traceId: dispatch!.traceId, parentSpanId: dispatch!.spanId, attributes: { 'stem.schedule.id': 'nightly-report', 'stem.task.name': 'nightly' } });
  });

  it('ctx.logger lines carry the task id, name, attempt and the trace id of the process span', async () => {
    const lines: { message: string; fields: TaskLogFields; extra: unknown }[] = [];
    const w = world([{ name: 'logs', call: (ctx) => ctx.logger.info('charged', { amount: 3 }) }], {
      worker: { taskLogSink: (_level, message, fields, extra) => lines.push({ message, fields, extra }) },
    });
    await w.worker.start();
    const id = await w.stem.enqueue('logs');
    await w.stem.waitForTask(id, { timeout: 5_000 });
    const [process] = named(w.spans(), 'process default');
    expect(lines).toEqual([
      { message: 'charged', extra: { amount: 3 }, fields: { taskId: id, task: 'logs', queue: 'default', attempt: 0, traceId: process!.traceId, spanId: process!.spanId } },
    ]);
  });

  it('with tracing off nothing is recorded and no trace header is written', async () => {
    const w = world([{ name: 'quiet', call: (ctx) => ctx.headers['traceparent'] ?? null }], { stem: { tracing: false }, worker: { tracing: false } });
    await w.worker.start();
    const id = await w.stem.enqueue('quiet');
    expect((await w.stem.waitForTask(id, { timeout: 5_000 })).value).toBeNull();
    expect(w.spans()).toEqual([]);
  });

  it('an SDK registered after the Stem and Worker were built is picked up on the next task', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const registry = new SimpleTaskRegistry([{ name: 'later', call: () => 1 }]);
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend, registry, producer: stem });
    closers.push(async () => {
      await worker.close();
      await broker.close();
    });
    await worker.start();
    await stem.waitForTask(await stem.enqueue('later'), { timeout: 5_000 });
    const { provider, spans } = memoryTracing();
    trace.setGlobalTracerProvider(provider);
    closers.push(async () => trace.disable());
    const id = await stem.enqueue('later');
    await stem.waitForTask(id, { timeout: 5_000 });
    expect(
      spans()
        .map((s) => `${s.name} ${s.attributes['messaging.message.id']}`)
        .sort(),
    ).toEqual([`process default ${id}`, `send default ${id}`]);
  });

  it('without an SDK (the global no-op provider) tasks run and carry no trace header', async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const registry = new SimpleTaskRegistry([{ name: 'plain', call: (ctx) => ctx.headers['traceparent'] ?? null }]);
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend, registry, producer: stem });
    closers.push(async () => {
      await worker.close();
      await broker.close();
    });
    await worker.start();
    const id = await stem.enqueue('plain');
    expect((await stem.waitForTask(id, { timeout: 5_000 })).value).toBeNull();
  });
});
