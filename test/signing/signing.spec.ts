import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryGroupStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  Canvas,
  chordResults,
  ConfigurationError,
  EnvelopeSigner,
  type Envelope,
  generateEd25519KeyPair,
  SimpleTaskRegistry,
  Stem,
  StemHeaders,
  task,
  type TaskHandler,
  Worker,
} from '../../lib/core/index.js';

const key = () => randomBytes(32).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function makeEnvelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: 'id-1',
    name: 'pay',
    args: { amount: 10 },
    headers: { 'x-tenant': 'a' },
    queue: 'default',
    priority: 0,
    attempt: 0,
    enqueuedAt: 1_700_000_000_000,
    meta: { m: 1 },
    ...overrides,
  };
}

async function start(handlers: TaskHandler[], workerSigner: EnvelopeSigner, broker = new InMemoryBroker(), backend = new InMemoryResultBackend()) {
  const registry = new SimpleTaskRegistry(handlers);
  const groupStore = new InMemoryGroupStore();
  const worker = new Worker({ broker, backend, registry, signer: workerSigner, groupStore, queues: ['default'] });
  await worker.start();
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, registry, worker, groupStore };
}

describe('EnvelopeSigner', () => {
  it('signs with HMAC-SHA256 and detects any change to a covered field', () => {
    const signer = new EnvelopeSigner({ keys: { k1: key() }, activeKey: 'k1' });
    const signed = signer.sign(makeEnvelope());
    expect(signed.headers[StemHeaders.signatureKey]).toBe('k1');
    expect(signer.verify(signed)).toEqual({ valid: true, keyId: 'k1' });
    const tampered: Partial<Envelope>[] = [
      { args: { amount: 1_000 } },
      { name: 'refund' },
      { queue: 'other' },
      { priority: 9 },
      { attempt: 3 },
      { notBefore: 1 },
      { maxRetries: 9 },
      { visibilityTimeout: 1 },
      { meta: { m: 2 } },
      { enqueuedAt: 1 },
      { headers: { ...signed.headers, 'x-tenant': 'b' } },
    ];
    for (const change of tampered) expect(signer.verify({ ...signed, ...change }).valid).toBe(false);
    expect(signer.verify(makeEnvelope())).toMatchObject({ valid: false, reason: expect.stringContaining('not signed') });
  });

  it('signs with Ed25519: producers hold the private key, workers verify with the public key only', () => {
    const pair = generateEd25519KeyPair();
    const producer = new EnvelopeSigner({ algorithm: 'ed25519', privateKeys: { ed1: pair.privateKey } });
    const verifier = new EnvelopeSigner({ algorithm: 'ed25519', publicKeys: { ed1: pair.publicKey } });
    expect(verifier.canSign).toBe(false);
    const signed = producer.sign(makeEnvelope());
    expect(verifier.verify(signed)).toEqual({ valid: true, keyId: 'ed1' });
    expect(verifier.verify({ ...signed, args: { amount: 11 } }).valid).toBe(false);
    const other = generateEd25519KeyPair();
    expect(new EnvelopeSigner({ algorithm: 'ed25519', publicKeys: { ed1: other.publicKey } }).verify(signed).valid).toBe(false);
  });

  it('reads its configuration from STEM_SIGNING_* variables', () => {
    const k1 = key();
    const k2 = key();
    const hmac = EnvelopeSigner.fromEnv({ STEM_SIGNING_KEYS: `k1:${k1},k2:${k2}`, STEM_SIGNING_ACTIVE_KEY: 'k2' })!;
    expect(hmac.algorithm).toBe('hmac-sha256');
    expect(hmac.activeKey).toBe('k2');
    expect(hmac.verifyKeyIds).toEqual(['k1', 'k2']);
    const pair = generateEd25519KeyPair();
    const ed = EnvelopeSigner.fromEnv({
      STEM_SIGNING_ALGORITHM: 'ed25519',
      STEM_SIGNING_PRIVATE_KEYS: `e1:${pair.privateKey}`,
      STEM_SIGNING_PUBLIC_KEYS: `e1:${pair.publicKey}`,
      STEM_SIGNING_ACTIVE_KEY: 'e1',
    })!;
    expect(ed.verify(ed.sign(makeEnvelope())).valid).toBe(true);
    expect(EnvelopeSigner.fromEnv({})).toBeUndefined();
    expect(() => EnvelopeSigner.fromEnv({ STEM_SIGNING_ALGORITHM: 'rsa', STEM_SIGNING_KEYS: `k1:${k1}` })).toThrow(/STEM_SIGNING_ALGORITHM/);
    expect(() => EnvelopeSigner.fromEnv({ STEM_SIGNING_KEYS: 'no-colon' })).toThrow(/STEM_SIGNING_KEYS/);
    expect(() => new EnvelopeSigner({ keys: { k1, k2 } })).toThrow(ConfigurationError);
    expect(() => new EnvelopeSigner({ keys: { k1 }, activeKey: 'k9' })).toThrow(/"k9"/);
  });
});

describe('signed tasks on a worker', () => {
  it('dead-letters a tampered envelope as signature-invalid, records failed, never runs it', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: key() } });
    let runs = 0;
    const { broker, backend } = await start(
      [
        {
          name: 'pay',
          call: () => {
            runs++;
          },
        },
      ],
      signer,
    );
    const publish = broker.publish.bind(broker);
    broker.publish = (env) => publish({ ...env, args: { amount: 1_000_000 } });
    const stem = new Stem({ broker, backend, signer });
    const id = await stem.enqueue('pay', { amount: 10 });
    const result = await stem.waitForTask(id, { timeout: 3_000 });
    expect(result.status).toMatchObject({ state: 'failed', error: { type: 'SignatureInvalidError', meta: { keyId: 'k1', 'stem.deadLetterReason': 'signature-invalid' } } });
    const dead = await broker.getDeadLetter('default', id);
    expect(dead?.reason).toBe('signature-invalid');
    expect(runs).toBe(0);
  });

  it('dead-letters unsigned envelopes when the worker requires signatures', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: key() } });
    const { broker, backend } = await start([{ name: 'pay', call: () => 'ran' }], signer);
    const unsigned = new Stem({ broker, backend });
    const id = await unsigned.enqueue('pay', {});
    expect((await unsigned.waitForTask(id, { timeout: 3_000 })).status?.state).toBe('failed');
    expect((await broker.getDeadLetter('default', id))?.reason).toBe('signature-invalid');
  });

  it('keeps verifying envelopes signed with the old key while keys rotate', async () => {
    const k1 = key();
    const k2 = key();
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const before = new Stem({ broker, backend, signer: new EnvelopeSigner({ keys: { k1 } }) });
    const oldId = await before.enqueue('pay', { n: 1 });
    const overlap = new EnvelopeSigner({ keys: { k1, k2 }, activeKey: 'k2' });
    await start([{ name: 'pay', call: (ctx) => ctx.headers[StemHeaders.signatureKey] }], overlap, broker, backend);
    const after = new Stem({ broker, backend, signer: overlap });
    const newId = await after.enqueue('pay', { n: 2 });
    expect((await after.waitForTask(oldId, { timeout: 3_000 })).value).toBe('k1');
    expect((await after.waitForTask(newId, { timeout: 3_000 })).value).toBe('k2');
    const retired = new EnvelopeSigner({ keys: { k2 } });
    expect(retired.verify(before.buildEnvelope('pay', { n: 3 }))).toMatchObject({ valid: false, keyId: 'k1' });
  });

  it('re-signs a retry so attempt 2 still verifies', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: key() } });
    const signatures: string[] = [];
    const { broker, backend } = await start(
      [
        {
          name: 'flaky',
          options: { maxRetries: 2, retryPolicy: { backoff: 10, jitter: false } },
          call: (ctx) => {
            signatures.push(ctx.headers[StemHeaders.signature]!);
            if (ctx.attempt === 0) throw new Error('transient');
            return ctx.attempt;
          },
        },
      ],
      signer,
    );
    const stem = new Stem({ broker, backend, signer });
    const id = await stem.enqueue('flaky', {});
    const result = await stem.waitForTask(id, { timeout: 3_000 });
    expect(result.status).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(result.value).toBe(1);
    expect(signatures).toHaveLength(2);
    expect(signatures[1]).not.toBe(signatures[0]);
  });

  it('re-signs chord callbacks dispatched by the worker', async () => {
    const signer = new EnvelopeSigner({ keys: { k1: key() } });
    const { broker, backend, groupStore } = await start(
      [
        { name: 'one', call: (_ctx, a: { n: number }) => a.n },
        { name: 'total', call: (ctx) => chordResults<number>(ctx).reduce((a, b) => a + b, 0) },
      ],
      signer,
    );
    const stem = new Stem({ broker, backend, signer, groupStore });
    const chord = await new Canvas(stem).chord(
      [1, 2, 3].map((n) => task<number>('one', { n })),
      task<number>('total', {}),
    );
    const result = await chord.wait({ timeout: 3_000 });
    expect(result.status?.state).toBe('succeeded');
    expect(result.value).toBe(6);
    await sleep(10);
    expect((await broker.listDeadLetters('default')).items).toHaveLength(0);
  });
});

describe('signatures survive the JSON round trip brokers make', () => {
  it('verifies envelopes whose args hold Buffers, Dates and toJSON objects after JSON.parse(JSON.stringify(...))', async () => {
    const { EnvelopeSigner: Signer } = await import('../../lib/core/signing/envelope-signer.js');
    const { makeEnvelope } = await import('../../lib/testing/contract-helpers.js');
    const signer = new Signer({ keys: { k1: Buffer.from('0123456789abcdef0123456789abcdef').toString('base64') }, activeKey: 'k1' });
    const money = { amount: 10, toJSON: () => '10.00 EUR' };
    const signed = signer.sign(makeEnvelope('q', { args: { file: Buffer.from([1, 2, 3]), at: new Date(0), price: money, n: 1n as unknown as number } as never }));
    const wire = JSON.parse(JSON.stringify(signed, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    expect(signer.verify(wire)).toMatchObject({ valid: true, keyId: 'k1' });
    expect(signer.verify({ ...wire, args: { ...wire.args, price: '11.00 EUR' } })).toMatchObject({ valid: false });
  });
});
