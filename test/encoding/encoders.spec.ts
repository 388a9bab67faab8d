import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  ConfigurationError,
  defineTask,
  EncoderKeys,
  type Envelope,
  SimpleTaskRegistry,
  Stem,
  type TaskHandler,
  type TaskPayloadEncoder,
  TaskPayloadEncoderRegistry,
  UnknownEncoderError,
  Worker,
} from '../../lib/core/index.js';

/** Binary values travel as base64 text; everything else as `{ json }`. */
function base64Encoder(counts = { encode: 0, decode: 0 }): TaskPayloadEncoder & { counts: typeof counts } {
  return {
    id: 'base64',
    counts,
    encode(value) {
      counts.encode++;
      if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = v instanceof Uint8Array ? { b64: Buffer.from(v).toString('base64') } : v;
        return { obj: out };
      }
      return { json: value };
    },
    decode(stored) {
      counts.decode++;
      const s = stored as { b64?: string; obj?: Record<string, unknown>; json?: unknown };
      if (s.b64 !== undefined) return Buffer.from(s.b64, 'base64');
      if (s.obj) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(s.obj)) out[k] = v && typeof v === 'object' && 'b64' in v ? Buffer.from((v as { b64: string }).b64, 'base64') : v;
        return out;
      }
      return s.json;
    },
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup(handlers: TaskHandler[], encoders: TaskPayloadEncoderRegistry) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  const published: Envelope[] = [];
  const publish = broker.publish.bind(broker);
  broker.publish = async (env) => {
    published.push(structuredClone(env));
    return publish(env);
  };
  const stem = new Stem({ broker, backend, registry, encoders });
  const worker = new Worker({ broker, backend, registry, encoders, queues: ['default'] });
  await worker.start();
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { stem, backend, broker, published, worker };
}

describe('payload encoders', () => {
  it('round-trips binary args and results through a custom base64 encoder', async () => {
    const encoder = base64Encoder();
    const seen: unknown[] = [];
    const { stem, backend, published } = await setup(
      [
        {
          name: 'bytes.reverse',
          options: { argsEncoder: encoder, resultEncoder: encoder },
          call: (_ctx, args: { data: Buffer; label: string }) => {
            seen.push(args);
            return new Uint8Array(Buffer.from(args.data).reverse());
          },
        },
      ],
      new TaskPayloadEncoderRegistry({ encoders: [encoder] }),
    );
    const input = Buffer.from([0, 1, 2, 250, 255]);
    const id = await stem.enqueue('bytes.reverse', { data: input, label: 'x' });

    expect(published[0]!.headers[EncoderKeys.argsHeader]).toBe('base64');
    expect(published[0]!.args).toEqual({ obj: { data: { b64: input.toString('base64') }, label: 'x' } });
    const result = await stem.waitForTask<Buffer>(id, { timeout: 3_000 });
    expect(Buffer.isBuffer((seen[0] as { data: unknown }).data)).toBe(true);
    expect((seen[0] as { data: Buffer }).data.equals(input)).toBe(true);
    expect(Buffer.isBuffer(result.value)).toBe(true);
    expect([...result.value!]).toEqual([255, 250, 2, 1, 0]);

    const stored = await backend.get(id);
    expect(stored!.meta[EncoderKeys.resultMeta]).toBe('base64');
    expect(stored!.payload).toEqual({ b64: Buffer.from([255, 250, 2, 1, 0]).toString('base64') });
    expect(Buffer.isBuffer((await stem.getTaskStatus<Buffer>(id))!.payload)).toBe(true);
  });

  it('decodes exactly once per read and encodes once per write', async () => {
    const counts = { encode: 0, decode: 0 };
    const encoder = base64Encoder(counts);
    const { stem } = await setup(
      [{ name: 'echo', call: (_ctx, a: unknown) => a }],
      new TaskPayloadEncoderRegistry({ encoders: [encoder], argsEncoder: 'base64', resultEncoder: 'base64' }),
    );
    const id = await stem.enqueue('echo', { n: 1 });
    const result = await stem.waitForTask(id, { timeout: 3_000, pollInterval: 5 });
    expect(result.value).toEqual({ n: 1 });
    // args: encode (producer) + decode (worker); result: encode (worker) + decode (this read)
    expect(counts).toEqual({ encode: 2, decode: 2 });
    await stem.getTaskStatus(id);
    expect(counts.decode).toBe(3);
  });

  it('applies per-task encoders over the registry defaults', async () => {
    const encoder = base64Encoder();
    const { stem, backend } = await setup(
      [
        { name: 'plain', call: () => 'p' },
        { name: 'special', options: { resultEncoder: 'base64' }, call: () => 's' },
      ],
      new TaskPayloadEncoderRegistry({ encoders: [encoder] }),
    );
    const plain = await stem.enqueue('plain', {});
    const special = await stem.enqueue('special', {});
    expect((await stem.waitForTask(plain, { timeout: 3_000 })).value).toBe('p');
    expect((await stem.waitForTask(special, { timeout: 3_000 })).value).toBe('s');
    expect((await backend.get(plain))!.meta[EncoderKeys.resultMeta]).toBe('json');
    expect((await backend.get(special))!.meta[EncoderKeys.resultMeta]).toBe('base64');
    expect((await backend.get(special))!.payload).toEqual({ json: 's' });
  });

  it('lets a typed definition carry its encoders to a producer without handlers', async () => {
    const encoder = base64Encoder();
    const def = defineTask<{ data: Uint8Array }, Uint8Array>('bytes.echo', { argsEncoder: encoder, resultEncoder: encoder });
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const worker = new Worker({
      broker,
      backend,
      registry: new SimpleTaskRegistry([def.handler((_ctx, a) => a.data)]),
      encoders: new TaskPayloadEncoderRegistry({ encoders: [encoder] }),
    });
    closers.push(async () => {
      await worker.close({ mode: 'hard' });
      await broker.close();
    });
    await worker.start();
    const producer = new Stem({ broker, backend });
    const result = await def.enqueueAndWait(producer, { data: new Uint8Array([9, 8, 7]) }, {}, { timeout: 3_000 });
    expect([...result.value!]).toEqual([9, 8, 7]);
  });

  it('dead-letters a task whose args name an unknown encoder, naming the encoder', async () => {
    const { stem, broker } = await setup([{ name: 'echo', call: (_ctx, a: unknown) => a }], new TaskPayloadEncoderRegistry());
    const envelope = stem.buildEnvelope('echo', { n: 1 });
    await broker.publish({ ...envelope, headers: { ...envelope.headers, [EncoderKeys.argsHeader]: 'zstd' } });
    const result = await stem.waitForTask(envelope.id, { timeout: 3_000 });
    expect(result.status).toMatchObject({ state: 'failed', error: { type: 'UnknownEncoderError' } });
    expect(result.status!.error!.message).toContain('"zstd"');
    expect((await broker.getDeadLetter('default', envelope.id))?.reason).toBe('invalid-args');
  });

  it('rejects two encoders under one id and unknown ids', () => {
    const registry = new TaskPayloadEncoderRegistry({ encoders: [base64Encoder()] });
    expect(() => registry.register(base64Encoder())).toThrow(ConfigurationError);
    expect(() => registry.get('nope')).toThrow(UnknownEncoderError);
    expect(() => new TaskPayloadEncoderRegistry({ resultEncoder: 'missing' })).toThrow(/missing/);
  });
});
