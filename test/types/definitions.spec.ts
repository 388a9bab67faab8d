import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { Canvas, defineTask, type Envelope, SimpleTaskRegistry, Stem, type TaskResult, task, Worker } from '../../lib/core/index.js';

interface EmailArgs {
  to: string;
  subject: string;
}
const sendEmail = defineTask<EmailArgs, { delivered: boolean }>('email.send', { queue: 'emails', maxRetries: 2, priority: 3 });
const noArgs = defineTask<void, number>('clock.tick');

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup() {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry([sendEmail.handler(async (ctx, args) => ({ delivered: args.to.includes('@') && ctx.queue === 'emails' })), noArgs.handler(() => 42)]);
  const worker = new Worker({ broker, backend, registry, queues: ['emails', 'default'] });
  await worker.start();
  const published: Envelope[] = [];
  const publish = broker.publish.bind(broker);
  broker.publish = async (env) => {
    published.push(env);
    return publish(env);
  };
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  // A producer without handlers: the definition brings the task's options.
  return { stem: new Stem({ broker, backend }), published };
}

describe('typed task definitions', () => {
  it('enqueues with the definition options and waits for a typed result', async () => {
    const { stem, published } = await setup();
    const result = await sendEmail.enqueueAndWait(stem, { to: 'a@b.c', subject: 'Hi' }, {}, { timeout: 3_000 });
    expectTypeOf(result).toEqualTypeOf<TaskResult<{ delivered: boolean }>>();
    expect(result.value).toEqual({ delivered: true });
    expect(published[0]).toMatchObject({ name: 'email.send', queue: 'emails', priority: 3, maxRetries: 2 });
    const tick = await noArgs.enqueueAndWait(stem, undefined, {}, { timeout: 3_000 });
    expect(tick.value).toBe(42);
  });

  it('builds per-call options fluently; the call wins over the definition', async () => {
    const { stem, published } = await setup();
    const id = await stem
      .build(sendEmail, { to: 'x@y.z', subject: 'S' })
      .header('x-tenant', 't1')
      .header('x-trace', 'abc')
      .priority(8)
      .delay(10)
      .queue('emails')
      .expires(60_000)
      .meta('source', 'test')
      .enqueue();
    const env = published[0]!;
    expect(env).toMatchObject({ id, queue: 'emails', priority: 8, headers: { 'x-tenant': 't1', 'x-trace': 'abc' }, meta: { source: 'test' } });
    expect(env.notBefore).toBeGreaterThanOrEqual(env.enqueuedAt + 10);
    expect(env.meta['stem.expiresAt']).toBe(env.enqueuedAt + 60_000);
    const result = await sendEmail.waitFor(stem, id, { timeout: 3_000 });
    expect(result.value?.delivered).toBe(true);
  });

  it('rejects wrong argument and result types at compile time', () => {
    // Never called: these lines exist for `tsc --noEmit`.
    const compileOnly = async (stem: Stem, canvas: Canvas) => {
      // @ts-expect-error `to` must be a string
      await sendEmail.enqueue(stem, { to: 42, subject: 'x' });
      // @ts-expect-error `subject` is required
      await sendEmail.enqueue(stem, { to: 'a@b.c' });
      // @ts-expect-error unknown property
      await sendEmail.enqueue(stem, { to: 'a@b.c', subject: 'x', cc: 'y' });
      // @ts-expect-error builder args are checked too
      stem.build(sendEmail, { to: 1, subject: 'x' });
      // @ts-expect-error priority takes a number
      stem.build(sendEmail, { to: 'a', subject: 'x' }).priority('high');
      const r = await sendEmail.enqueueAndWait(stem, { to: 'a', subject: 'b' });
      // @ts-expect-error the result is { delivered: boolean }
      const wrong: string | undefined = r.value;
      // @ts-expect-error handlers must return the definition's result type
      sendEmail.handler(() => 'not an object');
      // @ts-expect-error signatures check args
      sendEmail.signature({ to: 1 });
      const group = await canvas.group([task<number>('a', {}), task<number>('b', {})]);
      // @ts-expect-error group values are numbers
      const s: string | undefined = (await group.wait()).values[0];
      const chain = await canvas.chain([task<number>('a', {}), task<string>('b', {})]);
      const last: string | undefined = (await chain.wait()).value;
      // @ts-expect-error the chain's result is the last step's
      const n: number | undefined = (await chain.wait()).value;
      return [wrong, s, last, n];
    };
    expect(typeof compileOnly).toBe('function');
  });
});
