import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { validateEnvelope } from '../../lib/core/envelope-validator.js';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { EnvelopeSigner, type Envelope, generateEd25519KeyPair, SigningHeaders, SimpleTaskRegistry, Stem, Worker } from '../../lib/core/index.js';

/**
 * Tampering with signed envelopes the way a hostile producer with write access to the broker would:
 * every field of the wire form is changed, retyped, removed, and `__proto__` / `constructor` /
 * `prototype` keys are inserted at every level. The tampered envelopes are decoded from JSON text
 * (as every broker delivers them) and run through a real Worker, next to untampered ones.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];
interface Mutation {
  readonly label: string;
  apply(root: Json): void;
}

const QUEUES = ['default', 'other'];
const INSERTED_KEYS = ['__proto__', 'constructor', 'prototype'];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function retyped(value: Json): Json[] {
  const out: Json[] = [null, [value], { v: value }];
  if (typeof value === 'string') out.push(`${value}x`, value.slice(1), 42, true);
  else if (typeof value === 'number') out.push(value + 1, -value - 1, String(value), false);
  else if (typeof value === 'boolean') out.push(!value, String(value));
  else if (value === null) out.push(0, 'null', {});
  else if (Array.isArray(value)) out.push([...value, 1], value.slice(1), Object.fromEntries(value.entries()) as Json, 'x');
  else out.push({}, Object.values(value), 'x', 1);
  return out;
}

function parentOf(root: Json, path: Path): Json {
  let node = root;
  for (const step of path.slice(0, -1)) node = (node as Record<string | number, Json>)[step]!;
  return node;
}

function setOwn(target: Json, key: string | number, value: Json): void {
  // NOTE: defineProperty, because `target.__proto__ = value` would set the prototype instead.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Every mutation of `node` (found at `path` under the root) and of everything below it. */
function* mutationsOf(node: Json, path: Path): Generator<Mutation> {
  if (node === null || typeof node !== 'object') return;
  const where = path.length ? path.join('.') : '(envelope)';
  const keys: (string | number)[] = Array.isArray(node) ? node.map((_v, i) => i) : Object.keys(node);
  for (const key of keys) {
    const child = (node as Record<string | number, Json>)[key]!;
    const at = [...path, key];
    for (const value of retyped(child)) {
      yield { label: `${at.join('.')} = ${JSON.stringify(value)}`, apply: (root) => setOwn(parentOf(root, at), key, value) };
    }
    yield {
      label: `${at.join('.')} removed`,
      apply: (root) => {
        const parent = parentOf(root, at);
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete (parent as Record<string, Json>)[key];
      },
    };
    yield* mutationsOf(child, at);
  }
  if (Array.isArray(node)) return;
  for (const inserted of INSERTED_KEYS) {
    for (const value of [{ polluted: true }, 'x', null] as Json[]) {
      yield {
        label: `${where} gains ${inserted} = ${JSON.stringify(value)}`,
        apply: (root) => setOwn(parentOf(root, [...path, '']), inserted, value),
      };
    }
  }
}

interface Tampered {
  readonly label: string;
  readonly text: string;
  readonly envelope: Envelope;
}

/** The tampered variants of `signed`, each decoded from its JSON text; no-op mutations are left out. */
function tamper(signed: Envelope): Tampered[] {
  const original = JSON.stringify(signed);
  const seen = new Set([original]);
  const out: Tampered[] = [];
  for (const mutation of mutationsOf(JSON.parse(original) as Json, [])) {
    const wire = JSON.parse(original) as Json;
    mutation.apply(wire);
    const text = JSON.stringify(wire);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ label: mutation.label, text, envelope: JSON.parse(text) as Envelope });
  }
  return out;
}

/** A signed envelope that sets every field, optional ones included, with nested args and meta. */
function signedEnvelope(stem: Stem, signer: EnvelopeSigner, n: number): Envelope {
  const built = stem.buildEnvelope(
    'pay',
    {
      n,
      order: {
        lines: [
          { sku: 'a-1', qty: 2 },
          { sku: 'b-2', qty: 1 },
        ],
        note: 'gift',
        paid: false,
      },
    },
    {
      queue: 'default',
      priority: 4,
      maxRetries: 2,
      visibilityTimeout: 30_000,
      headers: { 'x-tenant': 'acme' },
      meta: { user: { id: 7, roles: ['buyer'] } },
    },
  );
  return signer.sign({ ...built, notBefore: Date.now() - 60_000 });
}

const hmac = (): { producer: EnvelopeSigner; worker: EnvelopeSigner } => {
  const keys = { k1: randomBytes(32).toString('base64') };
  return { producer: new EnvelopeSigner({ keys }), worker: new EnvelopeSigner({ keys }) };
};
const hmacWithMaxAge = (): { producer: EnvelopeSigner; worker: EnvelopeSigner } => {
  const keys = { k1: randomBytes(32).toString('base64') };
  return { producer: new EnvelopeSigner({ keys, maxAge: 3_600_000 }), worker: new EnvelopeSigner({ keys, maxAge: 3_600_000 }) };
};
const ed25519 = (): { producer: EnvelopeSigner; worker: EnvelopeSigner } => {
  const pair = generateEd25519KeyPair();
  return {
    producer: new EnvelopeSigner({ algorithm: 'ed25519', privateKeys: { ed1: pair.privateKey } }),
    worker: new EnvelopeSigner({ algorithm: 'ed25519', privateKeys: { ed1: pair.privateKey }, publicKeys: { ed1: pair.publicKey } }),
  };
};

async function deadLetterTexts(broker: InMemoryBroker): Promise<{ text: string; reason: string }[]> {
  const out: { text: string; reason: string }[] = [];
  for (const queue of QUEUES) {
    const page = await broker.listDeadLetters(queue, { limit: 100_000 });
    // NOTE: an envelope the shared validator rejects is dead-lettered as malformed before its
    // signature is checked; its dead letter keeps the stored text as `meta.raw`.
    for (const item of page.items) out.push({ text: item.reason === 'malformed-envelope' ? String(item.meta.raw) : JSON.stringify(item.envelope), reason: item.reason });
  }
  return out;
}

describe.each([
  ['HMAC-SHA256', hmac],
  ['HMAC-SHA256 with maxAge', hmacWithMaxAge],
  ['Ed25519', ed25519],
])('tampered envelopes signed with %s', (_name, keysFor) => {
  it('never verify: every field changed, retyped, removed, or given __proto__/constructor/prototype keys', () => {
    const { producer, worker } = keysFor();
    const stem = new Stem({ broker: new InMemoryBroker(), backend: new InMemoryResultBackend() });
    const signed = signedEnvelope(stem, producer, 0);
    expect(worker.verify(JSON.parse(JSON.stringify(signed)) as Envelope).valid).toBe(true);
    const cases = tamper(signed);
    expect(cases.length).toBeGreaterThan(300);
    const labels = cases.map((c) => c.label).join('\n');
    for (const field of ['id', 'name', 'queue', 'args', 'headers', 'meta', 'priority', 'attempt', 'maxRetries', 'notBefore', 'enqueuedAt', 'visibilityTimeout']) {
      expect(labels).toContain(`\n${field} removed`);
    }
    expect(labels).toContain('(envelope) gains __proto__');
    expect(labels).toContain('args.order.lines.0 gains __proto__');
    expect(labels).toContain('headers gains constructor');
    expect(labels).toContain('meta.user gains prototype');
    if (producer.maxAge !== undefined) expect(labels).toContain(`headers.${SigningHeaders.signedUntil} = `);
    const verified = cases.filter((c) => worker.verify(c.envelope).valid).map((c) => c.label);
    expect(verified).toEqual([]);
  });

  it('never run on a worker: each ends as one signature-invalid (or malformed-envelope) dead letter while the untampered ones run', async () => {
    const { producer, worker: workerSigner } = keysFor();
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const stem = new Stem({ broker, backend });
    const ran: unknown[] = [];
    const registry = new SimpleTaskRegistry([
      {
        name: 'pay',
        call: (ctx) => {
          ran.push(ctx.id);
          return 'paid';
        },
      },
    ]);
    const worker = new Worker({ broker, backend, registry, signer: workerSigner, queues: QUEUES, concurrency: 8 });
    await worker.start();
    closers.push(async () => {
      await worker.close({ mode: 'hard' });
      await broker.close();
    });

    const original = signedEnvelope(stem, producer, 0);
    const cases = tamper(original);
    // NOTE: the shared validator fills absent fields (headers, priority, ...) before the
    // signature is checked; an envelope it decodes to what was signed is not tampered with, so
    // it runs as the original. Every other one must end as a dead letter.
    const stored = (c: { envelope: Envelope; text: string }) => {
      const checked = validateEnvelope(JSON.parse(c.text));
      return checked.ok ? JSON.stringify(checked.envelope) : c.text;
    };
    const sameAsOriginal = (c: { text: string }) => {
      const checked = validateEnvelope(JSON.parse(c.text));
      return checked.ok && isDeepStrictEqual(JSON.parse(JSON.stringify(checked.envelope)), JSON.parse(JSON.stringify(original)));
    };
    // NOTE: a broker routes by queue, so an envelope whose queue is not a consumed queue name
    // never reaches this worker (the previous test shows it would not verify either).
    const reaching = cases.filter((c) => QUEUES.includes(c.envelope.queue));
    const sameAsSigned = reaching.filter(sameAsOriginal);
    const routed = reaching.filter((c) => !sameAsOriginal(c));
    expect(sameAsSigned.length).toBeLessThan(5);
    expect(routed.length).toBeGreaterThan(300);
    const untampered: string[] = [];
    for (const [i, c] of reaching.entries()) {
      await broker.publish(c.envelope);
      if (i % 50 === 0) {
        const good = JSON.parse(JSON.stringify(signedEnvelope(stem, producer, i + 1))) as Envelope;
        untampered.push(good.id);
        await broker.publish(good);
      }
    }

    const deadline = Date.now() + 20_000;
    let dead = await deadLetterTexts(broker);
    const expectedRuns = [...untampered, ...sameAsSigned.map(() => original.id)];
    while ((dead.length < routed.length || ran.length < expectedRuns.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      dead = await deadLetterTexts(broker);
    }
    expect(ran.sort()).toEqual(expectedRuns.sort());
    for (const id of untampered) expect((await backend.get(id))?.state).toBe('succeeded');
    expect(dead.filter((d) => d.reason !== 'signature-invalid' && d.reason !== 'malformed-envelope')).toEqual([]);
    expect(dead.map((d) => d.text).sort()).toEqual(routed.map(stored).sort());
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(worker.stats()).toMatchObject({ active: 0, buffered: 0, succeeded: expectedRuns.length });
    expect((await broker.inflightCount('default')) + (await broker.pendingCount('default'))).toBe(0);
  });
});

describe('replayed signed envelopes', () => {
  it('run again when replayed verbatim without maxAge: the same id and attempt, as an at-least-once redelivery', async () => {
    const keys = { k1: randomBytes(32).toString('base64') };
    const signer = new EnvelopeSigner({ keys });
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    const runs: string[] = [];
    const registry = new SimpleTaskRegistry([
      {
        name: 'pay',
        call: (ctx) => {
          runs.push(`${ctx.id}#${ctx.attempt}`);
        },
      },
    ]);
    const worker = new Worker({ broker, backend, registry, signer, queues: ['default'] });
    await worker.start();
    closers.push(async () => {
      await worker.close({ mode: 'hard' });
      await broker.close();
    });
    const stem = new Stem({ broker, backend, signer });
    const captured = stem.buildEnvelope('pay', { amount: 10 });
    await broker.publish(JSON.parse(JSON.stringify(captured)) as Envelope);
    await stem.waitForTask(captured.id, { timeout: 3_000 });
    await broker.publish(JSON.parse(JSON.stringify(captured)) as Envelope);
    await waitUntil(() => runs.length === 2);
    expect(runs).toEqual([`${captured.id}#0`, `${captured.id}#0`]);
  });

  it('are refused as signature-invalid once past the signed maxAge window', async () => {
    const keys = { k1: randomBytes(32).toString('base64') };
    let now = Date.now();
    const signer = new EnvelopeSigner({ keys, maxAge: 60_000, now: () => now });
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    let runs = 0;
    const registry = new SimpleTaskRegistry([
      {
        name: 'pay',
        call: () => {
          runs++;
        },
      },
    ]);
    const worker = new Worker({ broker, backend, registry, signer, queues: ['default'] });
    await worker.start();
    closers.push(async () => {
      await worker.close({ mode: 'hard' });
      await broker.close();
    });
    const stem = new Stem({ broker, backend, signer });
    const captured = stem.buildEnvelope('pay', { amount: 10 });
    expect(Number(captured.headers[SigningHeaders.signedUntil])).toBe(Math.ceil(now + 60_000));
    await broker.publish(JSON.parse(JSON.stringify(captured)) as Envelope);
    expect((await stem.waitForTask(captured.id, { timeout: 3_000 })).status?.state).toBe('succeeded');

    now += 60_001;
    await broker.publish(JSON.parse(JSON.stringify(captured)) as Envelope);
    await waitUntil(async () => (await broker.getDeadLetter('default', captured.id)) !== null);
    expect(runs).toBe(1);
    const dead = await broker.getDeadLetter('default', captured.id);
    expect(dead?.reason).toBe('signature-invalid');
    expect(signer.verify(captured)).toMatchObject({ valid: false, reason: expect.stringContaining('expired') });

    const unbounded = new EnvelopeSigner({ keys });
    expect(signer.verify(unbounded.sign(stem.buildEnvelope('pay', {})))).toMatchObject({ valid: false, reason: expect.stringContaining('maxAge') });
    expect(() => new EnvelopeSigner({ keys, maxAge: 0 })).toThrow(/maxAge/);
    expect(EnvelopeSigner.fromEnv({ STEM_SIGNING_KEYS: `k1:${keys.k1}`, STEM_SIGNING_MAX_AGE: '60000' })?.maxAge).toBe(60_000);
    expect(() => EnvelopeSigner.fromEnv({ STEM_SIGNING_KEYS: `k1:${keys.k1}`, STEM_SIGNING_MAX_AGE: 'soon' })).toThrow(/STEM_SIGNING_MAX_AGE/);
  });

  it('gives each retry its own window: a re-signed retry verifies after the first window closed', async () => {
    const keys = { k1: randomBytes(32).toString('base64') };
    let now = Date.now();
    const signer = new EnvelopeSigner({ keys, maxAge: 60_000, now: () => now });
    const first = signer.sign(new Stem({ broker: new InMemoryBroker() }).buildEnvelope('pay', {}));
    now += 120_000;
    const retry = signer.sign({ ...first, attempt: 1, notBefore: now + 1_000 });
    expect(signer.verify(first).valid).toBe(false);
    expect(signer.verify(retry)).toEqual({ valid: true, keyId: 'k1' });
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
