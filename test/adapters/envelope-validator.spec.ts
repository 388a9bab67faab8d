import { describe, expect, it } from 'vitest';
import { assertValidEnqueueOptions, assertValidEnvelope, ENVELOPE_LIMITS, malformedPlaceholder, parseEnvelope, validateEnvelope } from '../../lib/core/envelope-validator.js';
import { ConfigurationError } from '../../lib/core/errors/configuration.error.js';
import { makeEnvelope } from '../../lib/testing/contract-helpers.js';

const base = () => JSON.parse(JSON.stringify(makeEnvelope('q'))) as Record<string, unknown>;
const rejectedFor = (patch: Record<string, unknown>) => {
  const result = validateEnvelope({ ...base(), ...patch });
  if (result.ok) throw new Error(`expected ${JSON.stringify(patch)} to be rejected`);
  return result;
};
const nested = (depth: number) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe('validateEnvelope', () => {
  it('accepts what the producer writes, unchanged and without copying', () => {
    const raw = base();
    const result = validateEnvelope(raw);
    expect(result).toEqual({ ok: true, envelope: raw });
    expect(result.ok && result.envelope).toBe(raw);
  });

  it('fills absent optional fields and treats null optional fields as absent, without touching the input', () => {
    const raw = { id: 'a', name: 'n', queue: 'q', maxRetries: null, notBefore: null, visibilityTimeout: null };
    const result = validateEnvelope(raw);
    expect(result.ok && result.envelope).toEqual({ id: 'a', name: 'n', queue: 'q', headers: {}, meta: {}, priority: 0, attempt: 0, enqueuedAt: 0 });
    expect(raw).toEqual({ id: 'a', name: 'n', queue: 'q', maxRetries: null, notBefore: null, visibilityTimeout: null });
  });

  it.each([
    ['id must be a non-empty string', { id: '' }],
    ['id must be a non-empty string', { id: 42 }],
    ['id must not contain U+0000 or a lone surrogate', { id: 'a\u0000b' }],
    ['name must not contain U+0000 or a lone surrogate', { name: 'x\ud800' }],
    ['queue must be at most 256 characters long', { queue: 'q'.repeat(ENVELOPE_LIMITS.maxQueueLength + 1) }],
    ['priority must be an integer from 0 to 9', { priority: 10 }],
    ['priority must be an integer from 0 to 9', { priority: '5' }],
    ['priority must be an integer from 0 to 9', { priority: 1.5 }],
    ['attempt must be an integer from 0', { attempt: -1e9 }],
    ['attempt must be an integer', { attempt: 'nan' }],
    ['maxRetries must be an integer', { maxRetries: -1 }],
    ['visibilityTimeout must be a finite number from 100', { visibilityTimeout: 0 }],
    ['visibilityTimeout must be a finite number from 100', { visibilityTimeout: 3e9 }],
    ['notBefore must be a finite number', { notBefore: 'soon' }],
    ['enqueuedAt must be a finite number', { enqueuedAt: -5 }],
    ['headers must be a plain object', { headers: [] }],
    ['headers["x-n"] must be a string', { headers: { 'x-n': 1 } }],
    ['meta must be a plain object', { meta: 'm' }],
    ['meta["stem.expiresAt"] must be a finite number', { meta: { 'stem.expiresAt': -1e16 } }],
    ['meta["stem.expiresAt"] must be a finite number', { meta: { 'stem.expiresAt': [] } }],
    ['meta["stem.retryPolicy"] must be a plain object', { meta: { 'stem.retryPolicy': 'fast' } }],
    ['meta["stem.retryPolicy"].backoff must be a finite number', { meta: { 'stem.retryPolicy': { backoff: 'x', autoRetryFor: 'TypeError' } } }],
    ['meta["stem.timeLimitMs"] must be a finite number above 0', { meta: { 'stem.timeLimitMs': 0 } }],
    ['meta["stem.softTimeLimitMs"] must be a finite number above 0', { meta: { 'stem.softTimeLimitMs': 1e12 } }],
    ['meta["stem.ignoreResult"] must be true or false', { meta: { 'stem.ignoreResult': 'yes' } }],
    ['meta["stem.group.index"] must be an integer', { headers: { 'stem-group-id': 'g1' } }],
    ['meta["stem.chain"].next must be a list of task calls', { meta: { 'stem.chain': { id: 'c', next: 'x' } } }],
    ['meta["stem.chain"].next[0].options.taskId must be the pre-assigned task id', { meta: { 'stem.chain': { id: 'c', next: [{ name: 'b', args: {}, options: {} }] } } }],
    ['meta["stem.link"][0].options.priority must be an integer from 0 to 9', { meta: { 'stem.link': [{ name: 'b', options: { priority: 99 } }] } }],
    ['args is nested deeper than 100 levels', { args: nested(5_000) }],
    ['meta is nested deeper than 100 levels', { meta: { deep: nested(200) } }],
  ])('rejects as malformed-envelope: %s', (message, patch) => {
    const result = rejectedFor(patch);
    expect(result.reason).toBe('malformed-envelope');
    expect(result.details).toContain(message);
  });

  it('rejects non-objects, BigInts, cycles and oversized envelopes', () => {
    for (const raw of [null, 'x', 42, [], new Map()]) expect(validateEnvelope(raw)).toMatchObject({ ok: false, details: 'envelope must be a JSON object' });
    expect(rejectedFor({ args: { n: 10n } }).details).toContain('args holds a BigInt');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(rejectedFor({ args: cyclic }).details).toContain('refers to itself');
    expect(rejectedFor({ args: new Array(ENVELOPE_LIMITS.maxValues + 1).fill(0) }).details).toContain('holds more than 1000000 values');
  });

  it('lists every problem with the field it names', () => {
    const result = rejectedFor({ id: 1, priority: -1, meta: { 'stem.expiresAt': 'never' } });
    expect(result.problems.map((p) => p.field)).toEqual(['id', 'priority', 'meta["stem.expiresAt"]']);
  });

  it('keeps __proto__ keys as data and never changes a prototype', () => {
    const result = parseEnvelope('{"id":"a","name":"n","queue":"q","__proto__":{"polluted":1},"meta":{"__proto__":{"x":1}}}');
    expect(result.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (result.ok) expect(Object.getPrototypeOf(result.envelope)).toBe(Object.prototype);
  });

  it('accepts Dates and binary values inside args (in-process brokers carry objects)', () => {
    expect(validateEnvelope({ ...base(), args: { at: new Date(), bytes: Buffer.alloc(2_000_000) } }).ok).toBe(true);
  });

  it('reports text that is not JSON', () => {
    expect(parseEnvelope('{not json')).toMatchObject({ ok: false, reason: 'malformed-envelope', details: expect.stringContaining('envelope is not JSON') });
  });
});

describe('malformedPlaceholder', () => {
  it('keeps a usable id and name, and falls back to the storage origin otherwise', () => {
    const kept = malformedPlaceholder({ id: 'task-1', name: 'email.send', priority: 'x' }, { id: 'row-1', queue: 'q', priority: 3 });
    expect(kept).toMatchObject({ id: 'task-1', name: 'email.send', queue: 'q', priority: 3, args: null });
    const fallback = malformedPlaceholder({ id: 'a\u0000' }, { id: 'malformed:0:1-0', queue: 'q', priority: 99 });
    expect(fallback).toMatchObject({ id: 'malformed:0:1-0', name: 'unknown', priority: 0 });
    expect(validateEnvelope(fallback).ok).toBe(true);
  });
});

describe('assertValidEnqueueOptions', () => {
  it('passes good options', () => {
    expect(() =>
      assertValidEnqueueOptions('t', { priority: 9, delay: 10, eta: new Date(), visibilityTimeout: 100, maxRetries: 0, retryPolicy: { autoRetryFor: [TypeError] } }),
    ).not.toThrow();
    expect(() => assertValidEnqueueOptions('t', undefined)).not.toThrow();
  });

  it.each([
    [{ visibilityTimeout: 0 }, 'visibilityTimeout'],
    [{ priority: 12 }, 'priority'],
    [{ maxRetries: 1.5 }, 'maxRetries'],
    [{ eta: new Date(Number.NaN) }, 'eta'],
    [{ expires: -1 }, 'expires'],
    [{ hardTimeLimit: 0 }, 'hardTimeLimit'],
    [{ taskId: 'x\u0000' }, 'taskId'],
    [{ headers: { a: 1 as unknown as string } }, 'headers["a"]'],
    [{ link: [{ name: '' }] }, 'link[0].name'],
  ])('throws a ConfigurationError naming the option for %j', (options, option) => {
    let caught: unknown;
    try {
      assertValidEnqueueOptions('email.send', options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect(caught).toMatchObject({ option, message: expect.stringContaining('task "email.send"') });
  });

  it('assertValidEnvelope names the field of a built envelope', () => {
    expect(() => assertValidEnvelope(makeEnvelope('q', { meta: { 'stem.expiresAt': 'x' } }))).toThrow(/stem\.expiresAt/);
  });
});
