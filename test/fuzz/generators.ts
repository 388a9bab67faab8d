import { ENVELOPE_LIMITS, parseEnvelope, validateEnvelope } from '../../lib/core/envelope-validator.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { makeEnvelope } from '../../lib/testing/contract-helpers.js';
import type { RawItem } from '../adapters/bad-input.suite.js';
import type { Prng } from './prng.js';

/** The task the fuzzed items name when they mean to run; its args are `{ i: <label> }`. */
export const FUZZ_TASK = 'fuzz.ok';
/** Id of the strict base64 args encoder the fuzz worker registers. */
export const FUZZ_B64 = 'fuzz-b64';
export type Backend = 'memory' | 'redis' | 'postgres';

/** One generated item: what is written to storage and the category that produced it. */
export interface FuzzItem {
  readonly category: string;
  readonly label: string;
  readonly raw: RawItem;
}

/** What must become of an item, by the shared validator (plus the storage's own fields). */
export type Expectation = { readonly kind: 'run'; readonly label: string } | { readonly kind: 'dead'; readonly why: string };

/** Decodes args of the {@link FUZZ_B64} encoder: base64 of JSON text; anything else throws. */
export function decodeB64(stored: unknown): unknown {
  if (typeof stored !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(stored) || stored.length % 4 !== 0) throw new TypeError('args are not base64 text');
  return JSON.parse(Buffer.from(stored, 'base64').toString('utf8'));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

const WEIRD_NUMBERS = [Number.NaN, Infinity, -Infinity, -0, -1, -1e9, 1.5, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, 1e16, -1e16, 0.000_1];
const WEIRD_VALUES: unknown[] = [null, true, false, '', 'str', '12', [], [1], {}, { a: 1 }, 0, 42, ...WEIRD_NUMBERS];
const WEIRD_STRINGS = ['', '\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udfff\ud800', 'x'.repeat(ENVELOPE_LIMITS.maxIdLength + 1), 'y'.repeat(50_000), ' ', '\u{1F600}', 'a\nb'];
const FIELDS = ['id', 'name', 'queue', 'args', 'headers', 'meta', 'priority', 'attempt', 'enqueuedAt', 'maxRetries', 'notBefore', 'visibilityTimeout'];
const NUMERIC = ['priority', 'attempt', 'enqueuedAt', 'maxRetries', 'notBefore', 'visibilityTimeout'];
const META_KEYS = [
  'stem.expiresAt',
  'stem.retryPolicy',
  'stem.softTimeLimitMs',
  'stem.timeLimitMs',
  'stem.group.id',
  'stem.group.index',
  'stem.chain',
  'stem.link',
  'stem.linkError',
  'stem.parentTaskId',
  'stem.rootTaskId',
  'stem.parentAttempt',
  'stem.ignoreResult',
  'stem.unique.key',
  'stem.unique.expiresAt',
];
const META_VALUES: unknown[] = [
  -1e16,
  [],
  'soon',
  {},
  Number.NaN,
  Infinity,
  -1,
  0,
  1e300,
  '\u0000',
  'x\ud800',
  true,
  [null],
  { backoff: 'soon' },
  { backoff: -5 },
  { backoffMax: Infinity },
  { jitter: 'yes' },
  { autoRetryFor: 'Error' },
  { autoRetryFor: [1] },
  { id: 'c1', next: 'nope' },
  { id: 7, next: [] },
  { id: 'c1', next: [{ name: 'x' }] },
  { id: 'c1', next: [{ name: '', options: { taskId: 't' } }] },
  [{ name: 42 }],
  [{ name: 'x', options: { priority: 99 } }],
  [{ name: 'x', options: { visibilityTimeout: 0 } }],
  [{ name: '\u0000' }],
];
const BAD_TEXT = [
  '{not json',
  '',
  ' ',
  'null',
  '[]',
  '"str"',
  '42',
  'true',
  '{"id":',
  '{}',
  '{"hello":"world"}',
  '{"a":1}}',
  '\u0000',
  '[{"id":"x"}]',
  'NaN',
  '{"id": NaN}',
  "{'id': 'x'}",
];
const LEASES = ['', '', 'nan', 'inf', '-inf', '0', '-5', '50', '99', '100', '5000', 'abc', '99999999999999999999', '2147483648', ' 100'];

function textOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Generates `count` items for `queue`: malformed in every category, with some valid ones mixed in. */
export function generateItems(rng: Prng, queue: string, count: number, tag: string): FuzzItem[] {
  const items: FuzzItem[] = [];
  for (let n = 0; n < count; n++) {
    const label = `${tag}-${n}`;
    const env = makeEnvelope(queue, { id: `${tag}-id-${n}`, name: FUZZ_TASK, args: { i: label }, priority: rng.int(0, 9) }) as unknown as Record<string, unknown>;
    const priority = rng.int(0, 9);
    const category = rng.pick(CATEGORIES);
    const made = category.make(rng, env, label);
    const value = 'value' in made ? made.value : undefined;
    const text = made.text ?? ('value' in made ? textOf(value) : undefined);
    const raw: RawItem = { ...('value' in made ? { value } : {}), ...(text !== undefined ? { text } : {}), priority, ...made.extra };
    items.push({ category: category.name, label, raw });
  }
  return items;
}

type Made = { value?: unknown; text?: string; extra?: Partial<RawItem> };
interface Category {
  readonly name: string;
  make(rng: Prng, env: Record<string, unknown>, label: string): Made;
}

const withKey = (text: string, key: string, inner: string, at = 0) => {
  const pos = text.indexOf('{', at);
  const rest = text.slice(pos + 1);
  return `${text.slice(0, pos + 1)}"${key}":${inner}${rest.startsWith('}') ? '' : ','}${rest}`;
};

const CATEGORIES: readonly Category[] = [
  { name: 'valid', make: (_r, env) => ({ value: env }) },
  { name: 'wrong-type', make: (r, env) => ({ value: { ...env, [r.pick(FIELDS)]: r.pick(WEIRD_VALUES) } }) },
  { name: 'weird-number', make: (r, env) => ({ value: { ...env, [r.pick(NUMERIC)]: r.pick(WEIRD_NUMBERS) } }) },
  { name: 'weird-string', make: (r, env) => ({ value: { ...env, [r.pick(['id', 'name', 'queue'])]: r.pick(WEIRD_STRINGS) } }) },
  {
    name: 'weird-header',
    make: (r, env) => ({ value: { ...env, headers: { [r.pick(['x', 'stem-group-id', 'stem-chord-id', 'traceparent', '\u0000'])]: r.pick([...WEIRD_VALUES, ...WEIRD_STRINGS]) } } }),
  },
  { name: 'long-string', make: (r, env) => ({ value: { ...env, args: { i: env.args && (env.args as { i: string }).i, pad: 'z'.repeat(r.int(1_000, 200_000)) } } }) },
  {
    name: 'proto-key',
    make: (r, env) => {
      const text = textOf(env)!;
      const key = r.pick(['__proto__', 'constructor', 'prototype']);
      const inner = r.pick(['{"polluted":1}', '{"prototype":{"polluted":1}}', '1', 'null', '"x"']);
      const where = r.pick(['top', 'args', 'meta', 'headers']);
      const at = where === 'top' ? 0 : text.indexOf(`"${where}":`);
      const out = withKey(text, key, inner, at);
      return { text: out, value: JSON.parse(out) as unknown };
    },
  },
  {
    name: 'deep',
    make: (r, env) => {
      const depth = r.pick([50, 97, 98, 99, 100, 101, 1_000, 10_000]);
      const where = r.pick(['args', 'meta', 'headers']);
      const value = { ...env, [where]: where === 'args' ? { i: (env.args as { i: string }).i, deep: nested(depth, 1) } : { deep: nested(depth, 1) } };
      const marker = '"DEEP"';
      const base = textOf({ ...value, [where]: where === 'args' ? { i: (env.args as { i: string }).i, deep: 'DEEP' } : { deep: 'DEEP' } })!;
      return { value, text: base.replace(marker, `${'['.repeat(depth)}1${']'.repeat(depth)}`) };
    },
  },
  {
    name: 'bad-json',
    make: (r) => {
      const text = r.pick(BAD_TEXT);
      try {
        return { text, value: JSON.parse(text) as unknown };
      } catch {
        return { text };
      }
    },
  },
  {
    name: 'truncated-json',
    make: (r, env) => {
      const full = textOf(env)!;
      return { text: full.slice(0, r.int(0, full.length - 1)) };
    },
  },
  {
    name: 'base64-args',
    make: (r, env, label) => ({
      value: {
        ...env,
        headers: { 'stem-args-encoder': FUZZ_B64 },
        args: r.pick<unknown>([b64({ i: label }), b64({ i: label }), '!!!', '', 'aGVsbG8', 'aGVsbG8=', 42, { i: label }, null, b64('x').slice(1)]),
      },
    }),
  },
  { name: 'wrong-encoder', make: (r, env) => ({ value: { ...env, headers: { 'stem-args-encoder': r.pick(['nope', 'BASE64', 'json ', 'base64']) } } }) },
  { name: 'bad-meta', make: (r, env) => ({ value: { ...env, meta: { [r.pick(META_KEYS)]: r.pick(META_VALUES) } } }) },
  {
    name: 'group-header',
    make: (r, env) => ({
      value: { ...env, headers: { 'stem-group-id': r.pick(['g1', '', '\u0000']) }, meta: r.chance(0.5) ? { 'stem.group.index': r.pick<unknown>([-1, 'x', 1.5, null]) } : {} },
    }),
  },
  { name: 'expired', make: (r, env) => ({ value: { ...env, meta: { 'stem.expiresAt': r.pick([1, 1_000, Date.now() - 1_000]) } } }) },
  {
    name: 'unknown-task',
    make: (r, env) => ({ value: { ...env, name: r.pick(['nope', `${FUZZ_TASK} `, FUZZ_TASK.toUpperCase(), 'x'.repeat(256), 'constructor', '__proto__', 'toString']) } }),
  },
  {
    name: 'missing-field',
    make: (r, env) => {
      const copy = { ...env };
      delete copy[r.pick(FIELDS)];
      return { value: copy };
    },
  },
  { name: 'extra-field', make: (r, env) => ({ value: { ...env, [r.pick(['extra', 'stem.x', 'toJSON', 'valueOf', 'hasOwnProperty'])]: r.pick(WEIRD_VALUES) } }) },
  { name: 'not-an-object', make: (r) => ({ value: r.pick<unknown>([null, 1, 'x', [], [{}], true]) }) },
  { name: 'redis-lease', make: (r, env) => ({ value: env, extra: { lease: r.pick(LEASES) } }) },
  {
    name: 'redis-fields',
    make: (r, env) => ({
      value: env,
      extra: {
        fields: r.pick([
          ['x', 'y'],
          ['e', ''],
          ['v', '100'],
          ['e', '{', 'e', textOf(env)!],
        ]),
      },
    }),
  },
  { name: 'pg-columns', make: (r, env) => ({ value: env, extra: { visibilityMs: r.pick([0, -1, 1, 50, 2 ** 31 - 1, null]), taskId: r.pick(['other-id', 'x', String(env.id)]) } }) },
];

/** Every category name, for reports. */
export const CATEGORY_NAMES = CATEGORIES.map((c) => c.name);

function redisLeaseProblem(lease: string | undefined): boolean {
  if (lease === undefined || lease === '') return false;
  if (!/^\d+$/.test(lease)) return true;
  const n = Number(lease);
  return n < ENVELOPE_LIMITS.minVisibilityTimeout || n > ENVELOPE_LIMITS.maxDurationMs;
}

/**
 * What must become of a stored item on `backend`, decided by the shared validator on what the
 * adapter reads back (the object on memory, the text on Redis and Postgres), then by the worker's
 * rules for a valid envelope (unknown task, expiry, args encoder).
 */
export function expectationOf(item: FuzzItem, backend: Backend, now: number): Expectation {
  const { raw } = item;
  let envelope: Envelope;
  if (backend === 'redis' && raw.fields) {
    // NOTE: an entry's fields read back as a hash: of a field written twice, the last value counts.
    const field = (name: string) => raw.fields!.findLastIndex((f, k) => k % 2 === 0 && f === name);
    const e = field('e');
    if (e < 0) return { kind: 'dead', why: 'no envelope field' };
    const v = field('v');
    if (v >= 0 && redisLeaseProblem(raw.fields[v + 1])) return { kind: 'dead', why: 'lease field' };
    const parsed = parseEnvelope(raw.fields[e + 1]!);
    if (!parsed.ok) return { kind: 'dead', why: parsed.details };
    envelope = parsed.envelope;
  } else {
    const parsed = backend === 'memory' ? validateEnvelope(raw.value) : parseEnvelope(raw.text!);
    if (!parsed.ok) return { kind: 'dead', why: parsed.details };
    if (backend === 'redis' && redisLeaseProblem(raw.lease)) return { kind: 'dead', why: 'lease field' };
    envelope = parsed.envelope;
  }
  if (envelope.name !== FUZZ_TASK) return { kind: 'dead', why: 'unregistered-task' };
  const expiresAt = envelope.meta['stem.expiresAt'];
  if (typeof expiresAt === 'number' && expiresAt <= now) return { kind: 'dead', why: 'expired' };
  let args: unknown = envelope.args;
  const encoder = envelope.headers['stem-args-encoder'];
  if (encoder !== undefined) {
    if (encoder !== FUZZ_B64) return { kind: 'dead', why: 'unknown args encoder' };
    try {
      args = decodeB64(args);
    } catch {
      return { kind: 'dead', why: 'invalid-args' };
    }
  }
  const label = typeof args === 'object' && args !== null && typeof (args as { i?: unknown }).i === 'string' ? (args as { i: string }).i : '(unlabeled)';
  return { kind: 'run', label };
}
