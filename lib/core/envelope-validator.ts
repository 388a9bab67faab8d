import { CanvasMeta } from './canvas/canvas.constants.js';
import { EncoderKeys } from './encoding/task-payload-encoder.js';
import type { Envelope } from './envelope.js';
import { StemHeaders, StemMeta } from './envelope.js';
import { ConfigurationError } from './errors/configuration.error.js';
import type { EnqueueOptions } from './task-options.js';
import { UniqueMeta } from './unique/unique.constants.js';

/**
 * The bounds every envelope keeps, at enqueue and at decode. Durations stop at 2^31 − 1 ms because
 * timers (and Postgres `integer` columns) cannot hold more; epoch times stop where `Date` does.
 */
export const ENVELOPE_LIMITS = {
  /** Longest task id, in UTF-16 code units. */
  maxIdLength: 256,
  /** Longest task name. */
  maxNameLength: 256,
  /** Longest queue name. */
  maxQueueLength: 256,
  /** Deepest nesting of objects and arrays, counted from the envelope itself. */
  maxDepth: 100,
  /** Most values (objects, arrays, scalars) in one envelope. */
  maxValues: 1_000_000,
  /** Shortest lease a delivery may ask for, ms: a lease shorter than a renewal round trip redelivers running tasks. */
  minVisibilityTimeout: 100,
  /** Longest duration (lease, time limit), ms. */
  maxDurationMs: 2_147_483_647,
  /** Largest attempt counter and retry budget. */
  maxCount: 2_147_483_647,
  /** Largest epoch ms a `Date` can hold. */
  maxEpochMs: 8.64e15,
} as const;

/** Dead-letter reason of an envelope the validator rejects. */
export const MALFORMED_ENVELOPE_REASON = 'malformed-envelope';

/** One rule an envelope or an option breaks. */
export interface EnvelopeProblem {
  /** The field at fault, e.g. `priority` or `meta["stem.expiresAt"]`. */
  readonly field: string;
  /** What is wrong, e.g. `must be an integer from 0 to 9`. */
  readonly message: string;
}

/** The outcome of {@link validateEnvelope}. */
export type EnvelopeValidation =
  | { readonly ok: true; readonly envelope: Envelope }
  | {
      readonly ok: false;
      readonly reason: typeof MALFORMED_ENVELOPE_REASON;
      /** Every problem as one line: `priority must be an integer from 0 to 9; ...`. */
      readonly details: string;
      readonly problems: readonly EnvelopeProblem[];
    };

type Obj = Record<string, unknown>;
const L = ENVELOPE_LIMITS;
const LONE_SURROGATE_OR_NUL = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
const has = (o: Obj, key: string): boolean => Object.hasOwn(o, key) && o[key] !== undefined;

/** A plain object: `{}` or `Object.create(null)`, not an array, a Date or a class instance. */
export function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

class Problems {
  readonly list: EnvelopeProblem[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  text(field: string, value: unknown, max: number): void {
    if (typeof value !== 'string' || value.length === 0) this.add(field, 'must be a non-empty string');
    else if (value.length > max) this.add(field, `must be at most ${max} characters long`);
    else if (LONE_SURROGATE_OR_NUL.test(value)) this.add(field, 'must not contain U+0000 or a lone surrogate');
  }
  integer(field: string, value: unknown, min: number, max: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) this.add(field, `must be an integer from ${min} to ${max}`);
  }
  number(field: string, value: unknown, min: number, max: number, minExclusive = false): void {
    const low = minExclusive ? typeof value === 'number' && value <= min : typeof value === 'number' && value < min;
    if (typeof value !== 'number' || !Number.isFinite(value) || low || value > max)
      this.add(field, `must be a finite number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}`);
  }
  boolean(field: string, value: unknown): void {
    if (typeof value !== 'boolean') this.add(field, 'must be true or false');
  }
  plain(field: string, value: unknown): value is Obj {
    if (isPlainObject(value)) return true;
    this.add(field, 'must be a plain object');
    return false;
  }
}

/**
 * Checks nesting depth, size and JSON-ability of a value without recursion, so a value nested
 * thousands deep (or cyclic) is reported instead of overflowing the stack of `JSON.stringify`.
 * Returns the number of values seen.
 */
function checkShape(field: string, root: unknown, startDepth: number, budget: number, problems: Problems): number {
  const stack: [unknown, number][] = [[root, startDepth]];
  let seen = 0;
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (++seen > budget) {
      problems.add(field, `holds more than ${L.maxValues} values`);
      return seen;
    }
    if (typeof value === 'bigint') {
      problems.add(field, 'holds a BigInt, which JSON cannot carry');
      return seen;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Date) continue;
    if (depth >= L.maxDepth) {
      problems.add(field, `is nested deeper than ${L.maxDepth} levels (or refers to itself)`);
      return seen;
    }
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) {
      // NOTE: scalars are counted here rather than pushed: large flat arrays stay cheap to check.
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      else if (typeof child === 'bigint') stack.push([child, depth + 1]);
      else seen++;
    }
    if (seen > budget) {
      problems.add(field, `holds more than ${L.maxValues} values`);
      return seen;
    }
  }
  return seen;
}

function checkRetryPolicy(field: string, policy: unknown, p: Problems): void {
  if (!p.plain(field, policy)) return;
  for (const key of ['backoff', 'backoffMax'] as const) if (has(policy, key)) p.number(`${field}.${key}`, policy[key], 0, L.maxDurationMs);
  for (const key of ['jitter', 'exponential'] as const) if (has(policy, key)) p.boolean(`${field}.${key}`, policy[key]);
  for (const key of ['autoRetryFor', 'dontAutoRetryFor'] as const) {
    if (!has(policy, key)) continue;
    const list = policy[key];
    // NOTE: class matchers are allowed at enqueue; in an envelope they travel as names.
    if (!Array.isArray(list) || !list.every((m) => (typeof m === 'string' && m.length > 0) || typeof m === 'function'))
      p.add(`${field}.${key}`, 'must be a list of error class names');
  }
}

/** A `{ $date: ms }` tag (serialized calls) or a Date, as epoch ms; `undefined` when neither. */
function dateValue(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (isPlainObject(value) && Object.hasOwn(value, '$date')) return typeof value.$date === 'number' ? value.$date : Number.NaN;
  return undefined;
}

function checkTime(field: string, value: unknown, p: Problems, durationAllowed: boolean): void {
  const date = dateValue(value);
  if (date !== undefined) p.number(field, date, 0, L.maxEpochMs);
  else if (durationAllowed) p.number(field, value, 0, L.maxEpochMs);
  else p.add(field, 'must be a Date or epoch ms');
}

/** Problems of enqueue options (also of the serialized options of follow-up calls). */
export function enqueueOptionProblems(options: unknown, prefix = ''): EnvelopeProblem[] {
  const p = new Problems();
  checkOptions(prefix, options, p);
  return p.list;
}

function checkOptions(prefix: string, options: unknown, p: Problems): void {
  if (options === undefined) return;
  if (!p.plain(prefix || 'options', options)) return;
  const f = (key: string) => `${prefix}${key}`;
  const o = options;
  if (has(o, 'taskId')) p.text(f('taskId'), o.taskId, L.maxIdLength);
  if (has(o, 'queue')) p.text(f('queue'), o.queue, L.maxQueueLength);
  if (has(o, 'priority')) p.integer(f('priority'), o.priority, 0, 9);
  if (has(o, 'delay')) p.number(f('delay'), o.delay, 0, L.maxEpochMs);
  if (has(o, 'eta')) checkTime(f('eta'), o.eta, p, true);
  if (has(o, 'expires')) checkTime(f('expires'), o.expires, p, true);
  if (has(o, 'headers') && p.plain(f('headers'), o.headers)) {
    for (const [k, v] of Object.entries(o.headers)) if (typeof v !== 'string') p.add(`${f('headers')}["${k}"]`, 'must be a string');
  }
  if (has(o, 'meta')) p.plain(f('meta'), o.meta);
  if (has(o, 'maxRetries')) p.integer(f('maxRetries'), o.maxRetries, 0, L.maxCount);
  if (has(o, 'retryPolicy')) checkRetryPolicy(f('retryPolicy'), o.retryPolicy, p);
  if (has(o, 'visibilityTimeout')) p.number(f('visibilityTimeout'), o.visibilityTimeout, L.minVisibilityTimeout, L.maxDurationMs);
  for (const key of ['softTimeLimit', 'hardTimeLimit', 'uniqueFor'] as const) if (has(o, key)) p.number(f(key), o[key], 0, L.maxDurationMs, true);
  for (const key of ['ignoreResult', 'unique'] as const) if (has(o, key)) p.boolean(f(key), o[key]);
  for (const key of ['link', 'linkError'] as const) if (has(o, key)) checkCalls(f(key), o[key], p, false);
}

function checkCalls(field: string, calls: unknown, p: Problems, needsTaskId: boolean): void {
  if (!Array.isArray(calls)) return p.add(field, 'must be a list of task calls');
  calls.forEach((call, i) => {
    const at = `${field}[${i}]`;
    if (!p.plain(at, call)) return;
    p.text(`${at}.name`, own(call, 'name'), L.maxNameLength);
    const options = own(call, 'options');
    if (needsTaskId && !(isPlainObject(options) && typeof options.taskId === 'string')) p.add(`${at}.options.taskId`, 'must be the pre-assigned task id of the step');
    checkOptions(`${at}.options.`, options, p);
  });
}

const metaField = (key: string) => `meta["${key}"]`;

function checkMeta(meta: Obj, headers: Obj, p: Problems): void {
  const m = (key: string) => own(meta, key);
  const present = (key: string) => has(meta, key);
  if (present(StemMeta.expiresAt)) p.number(metaField(StemMeta.expiresAt), m(StemMeta.expiresAt), 0, L.maxEpochMs);
  if (present(StemMeta.retryPolicy)) checkRetryPolicy(metaField(StemMeta.retryPolicy), m(StemMeta.retryPolicy), p);
  for (const key of [StemMeta.softTimeLimitMs, StemMeta.hardTimeLimitMs]) if (present(key)) p.number(metaField(key), m(key), 0, L.maxDurationMs, true);
  if (present(StemMeta.ignoreResult)) p.boolean(metaField(StemMeta.ignoreResult), m(StemMeta.ignoreResult));
  for (const key of [StemMeta.parentTaskId, StemMeta.rootTaskId, UniqueMeta.key, UniqueMeta.owner, EncoderKeys.argsMeta]) {
    if (present(key)) p.text(metaField(key), m(key), key === UniqueMeta.key ? L.maxValues : L.maxIdLength);
  }
  if (present(StemMeta.parentAttempt)) p.integer(metaField(StemMeta.parentAttempt), m(StemMeta.parentAttempt), 0, L.maxCount);
  if (present(UniqueMeta.expiresAt)) p.number(metaField(UniqueMeta.expiresAt), m(UniqueMeta.expiresAt), 0, L.maxEpochMs);
  if (present(CanvasMeta.groupId)) p.text(metaField(CanvasMeta.groupId), m(CanvasMeta.groupId), L.maxIdLength);
  const groupHeader = own(headers, StemHeaders.groupId);
  if (groupHeader !== undefined) p.text(`headers["${StemHeaders.groupId}"]`, groupHeader, L.maxIdLength);
  if (groupHeader !== undefined || present(CanvasMeta.groupIndex)) p.integer(metaField(CanvasMeta.groupIndex), m(CanvasMeta.groupIndex), 0, L.maxCount);
  if (present(CanvasMeta.chain)) {
    const chain = m(CanvasMeta.chain);
    if (p.plain(metaField(CanvasMeta.chain), chain)) {
      p.text(`${metaField(CanvasMeta.chain)}.id`, own(chain, 'id'), L.maxIdLength);
      checkCalls(`${metaField(CanvasMeta.chain)}.next`, own(chain, 'next'), p, true);
    }
  }
  for (const key of [CanvasMeta.link, CanvasMeta.linkError]) if (present(key)) checkCalls(metaField(key), m(key), p, false);
}

/**
 * The one set of rules for an envelope, shared by every adapter's decode path (a broken envelope
 * becomes a dead letter `malformed-envelope` with these details) and by the producer.
 *
 * Rejected: anything that is not a plain object; `id`, `name`, `queue` that are not non-empty
 * strings within {@link ENVELOPE_LIMITS} or hold U+0000 or a lone surrogate; `priority` outside the
 * integers 0–9; `attempt`/`maxRetries` that are not non-negative integers; `enqueuedAt`/`notBefore`
 * outside 0 to the last `Date`; `visibilityTimeout` under 100 ms or over 2^31 − 1 ms;
 * `headers` that are not an object of strings; `meta` that is not a plain object; a known
 * `stem.*` meta key of the wrong type (expiry, retry policy, time limits, lineage, group, chain,
 * links, unique lock); values nested deeper than 100 levels, more than a million values, or a
 * BigInt anywhere.
 *
 * Coerced (filled in, never guessed from a wrong type): an absent `args` stays `undefined`;
 * absent `headers`/`meta` become `{}`; absent `priority`, `attempt`, `enqueuedAt` become `0`;
 * `maxRetries`, `notBefore`, `visibilityTimeout` that are `null` count as absent. Anything of
 * the wrong type is rejected. Unknown fields and unknown meta keys pass through untouched.
 *
 * Never throws and never writes to `raw` (the envelope returned is `raw` itself when nothing
 * needed filling in, else a copy).
 */
export function validateEnvelope(raw: unknown): EnvelopeValidation {
  const p = new Problems();
  if (!isPlainObject(raw)) {
    p.add('envelope', 'must be a JSON object');
    return rejected(p);
  }
  p.text('id', own(raw, 'id'), L.maxIdLength);
  p.text('name', own(raw, 'name'), L.maxNameLength);
  p.text('queue', own(raw, 'queue'), L.maxQueueLength);
  const fill: Obj = {};
  const drop: string[] = [];
  const defaulted = (key: string, value: unknown): boolean => {
    if (has(raw, key)) return true;
    fill[key] = value;
    return false;
  };
  if (defaulted('priority', 0)) p.integer('priority', raw.priority, 0, 9);
  if (defaulted('attempt', 0)) p.integer('attempt', raw.attempt, 0, L.maxCount);
  if (defaulted('enqueuedAt', 0)) p.number('enqueuedAt', raw.enqueuedAt, 0, L.maxEpochMs);
  for (const key of ['maxRetries', 'notBefore', 'visibilityTimeout'] as const) {
    const value = own(raw, key);
    if (value === null) drop.push(key);
    if (value === null || value === undefined) continue;
    if (key === 'maxRetries') p.integer(key, value, 0, L.maxCount);
    else if (key === 'notBefore') p.number(key, value, 0, L.maxEpochMs);
    else p.number(key, value, L.minVisibilityTimeout, L.maxDurationMs);
  }
  const headers = defaulted('headers', {}) ? raw.headers : {};
  if (p.plain('headers', headers)) {
    for (const [k, v] of Object.entries(headers)) if (typeof v !== 'string') p.add(`headers["${k}"]`, 'must be a string');
  }
  const meta = defaulted('meta', {}) ? raw.meta : {};
  if (p.plain('meta', meta) && isPlainObject(headers)) checkMeta(meta, headers, p);
  let budget = L.maxValues;
  for (const key of ['args', 'meta', 'headers'] as const) {
    if (!has(raw, key)) continue;
    budget -= checkShape(key, raw[key], 1, budget, p);
    if (budget <= 0) break;
  }
  if (p.list.length > 0) return rejected(p);
  if (Object.keys(fill).length === 0 && drop.length === 0) return { ok: true, envelope: raw as unknown as Envelope };
  const copy: Obj = { ...raw, ...fill };
  for (const key of drop) delete copy[key];
  return { ok: true, envelope: copy as unknown as Envelope };
}

function rejected(p: Problems): EnvelopeValidation {
  const details = p.list.map((x) => `${x.field} ${x.message}`).join('; ');
  return { ok: false, reason: MALFORMED_ENVELOPE_REASON, details, problems: p.list };
}

/** Parses stored envelope text and validates it; text that is not JSON is reported, never thrown. */
export function parseEnvelope(text: string): EnvelopeValidation {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const p = new Problems();
    p.add('envelope', `is not JSON (${(error as Error).message})`);
    return rejected(p);
  }
  return validateEnvelope(value);
}

/**
 * The meta of a `malformed-envelope` dead letter, the same on every adapter: the validator's
 * details as `error` (shaped like a task error, so tools read `error.message`) and the stored
 * text as `raw` when there is one.
 */
export function malformedDeadLetterMeta(details: string, raw?: string): Record<string, unknown> {
  return { error: { type: 'MalformedEnvelope', message: details, retryable: false }, ...(raw !== undefined ? { raw } : {}) };
}

/** Where a stored entry that failed validation lives, to build its dead letter. */
export interface MalformedOrigin {
  /** Id to record when the entry has no usable id of its own. */
  readonly id: string;
  /** Queue the entry was stored in. */
  readonly queue: string;
  readonly priority?: number;
  readonly attempt?: number;
  readonly enqueuedAt?: number;
}

/**
 * A valid stand-in envelope for an entry the validator rejected, so it can be stored as a dead
 * letter: it keeps the entry's own `id` and `name` when those pass the rules (so the dead letter is
 * found by task id), else the storage's; `args` is `null` (the raw text goes in the dead letter's meta).
 */
export function malformedPlaceholder(raw: unknown, origin: MalformedOrigin): Envelope {
  const p = new Problems();
  const value = isPlainObject(raw) ? raw : {};
  const usable = (key: string, max: number): string | undefined => {
    const before = p.list.length;
    p.text(key, own(value, key), max);
    return p.list.length === before ? (value[key] as string) : undefined;
  };
  const safeInt = (n: number | undefined, max: number) => (n !== undefined && Number.isInteger(n) && n >= 0 && n <= max ? n : 0);
  return {
    id: usable('id', L.maxIdLength) ?? origin.id,
    name: usable('name', L.maxNameLength) ?? 'unknown',
    args: null,
    headers: {},
    queue: origin.queue,
    priority: safeInt(origin.priority, 9),
    attempt: safeInt(origin.attempt, L.maxCount),
    enqueuedAt: safeInt(origin.enqueuedAt === undefined ? undefined : Math.round(origin.enqueuedAt), L.maxEpochMs),
    meta: {},
  };
}

/**
 * Checks per-call enqueue options before an envelope is built, so a bad option fails at the
 * producer with an error naming it (the same bounds the worker applies when it decodes).
 *
 * @throws ConfigurationError naming the first option at fault and listing every problem
 * @example
 * assertValidEnqueueOptions('email.send', { visibilityTimeout: 0 });
 * // ConfigurationError: Invalid option "visibilityTimeout": task "email.send": visibilityTimeout must be ...
 */
export function assertValidEnqueueOptions(taskName: string, options: EnqueueOptions | undefined): void {
  const problems = enqueueOptionProblems(options);
  if (problems.length === 0) return;
  throw new ConfigurationError(problems[0]!.field, `task "${taskName}": ${problems.map((x) => `${x.field} ${x.message}`).join('; ')}`);
}

/**
 * Checks a built envelope against {@link validateEnvelope} (for example in the producer right
 * before publishing, where `meta` supplied by the caller may carry a `stem.*` key of the wrong type).
 *
 * @throws ConfigurationError naming the first field at fault and listing every problem
 */
export function assertValidEnvelope(envelope: Envelope): void {
  const result = validateEnvelope(envelope);
  if (result.ok) return;
  throw new ConfigurationError(result.problems[0]!.field, `task "${typeof envelope.name === 'string' ? envelope.name : '?'}" (${String(envelope.id)}): ${result.details}`);
}
