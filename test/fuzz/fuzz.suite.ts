import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { MALFORMED_ENVELOPE_REASON } from '../../lib/core/envelope-validator.js';
import { SimpleTaskRegistry, Stem, TaskPayloadEncoderRegistry, Worker } from '../../lib/core/index.js';
import { sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import type { BadInputFixture } from '../adapters/bad-input.suite.js';
import { type Backend, decodeB64, type Expectation, expectationOf, FUZZ_B64, FUZZ_TASK, generateItems } from './generators.js';
import { envCount, fuzzSeeds, Prng } from './prng.js';

/*
 * Quick by default (part of `npm test`); `npm run fuzz` sets STEM_FUZZ_LONG=1 for more seeds and
 * items. STEM_FUZZ_SEEDS, STEM_FUZZ_ITEMS, STEM_FUZZ_ROUNDS and STEM_FUZZ_BASE_SEED override the
 * counts; STEM_FUZZ_SEED=<n> (with the STEM_FUZZ_ITEMS a failure printed) replays one seed.
 */
const LONG = process.env.STEM_FUZZ_LONG === '1';
/** Seeds per backend (`STEM_FUZZ_SEEDS`), items per seed (`STEM_FUZZ_ITEMS`), rounds of the memory check (`STEM_FUZZ_ROUNDS`). */
const SEEDS = envCount('STEM_FUZZ_SEEDS', LONG ? 20 : 2);
const ITEMS = envCount('STEM_FUZZ_ITEMS', LONG ? 400 : 60);
const ROUNDS = envCount('STEM_FUZZ_ROUNDS', LONG ? 12 : 3);
const FLAKY_TASK = 'fuzz.flaky';
const RESULT_TASK = 'fuzz.result';
const FLAKY_RETRIES = 1;
/** Results a handler returns that a status write may refuse (BigInt, cycles, U+0000, lone surrogates, depth). */
const BAD_RESULTS = ['bigint', 'cyclic', 'nul', 'surrogate', 'deep', 'huge', 'undefined', 'proto'] as const;

function badResult(kind: string): unknown {
  switch (kind) {
    case 'bigint':
      return { n: 10n };
    case 'cyclic': {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    }
    case 'nul':
      return 'a\u0000b';
    case 'surrogate':
      return { s: 'x\ud800' };
    case 'deep': {
      let v: unknown = 1;
      for (let i = 0; i < 10_000; i++) v = [v];
      return v;
    }
    case 'huge':
      return 'h'.repeat(1_000_000);
    case 'proto':
      return JSON.parse('{"__proto__":{"polluted":1}}');
    default:
      return undefined;
  }
}

let gc: (() => void) | undefined;
function collect(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

interface RoundReport {
  readonly items: number;
  readonly stored: number;
  readonly dead: number;
  readonly runs: number;
}

/**
 * One round: `itemCount` generated items written straight into storage, around valid, failing and
 * bad-result tasks enqueued through the producer, consumed by a real worker; then every outcome is
 * checked against what the shared validator says of each item.
 */
async function runRound(fixture: BadInputFixture, backend: Backend, seed: number, itemCount: number, resultKinds: readonly string[] = []): Promise<RoundReport> {
  const rng = new Prng(seed);
  const queue = uniqueName(`fuzz${seed}`);
  const prototypeBefore = protoKeys();
  const runs = new Map<string, number>();
  const count = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
  const registry = new SimpleTaskRegistry([
    {
      name: FUZZ_TASK,
      options: { queue },
      call: async (_ctx, args: unknown) => {
        const i = typeof args === 'object' && args !== null ? (args as { i?: unknown }).i : undefined;
        count(typeof i === 'string' ? i : '(unlabeled)');
        return i ?? null;
      },
    },
    {
      name: FLAKY_TASK,
      options: { queue, maxRetries: FLAKY_RETRIES, retryPolicy: { backoff: 10, jitter: false, exponential: false } },
      call: async (_ctx, args: { i: string }) => {
        count(args.i);
        throw new Error(`flaky ${args.i} always fails`);
      },
    },
    {
      name: RESULT_TASK,
      options: { queue, maxRetries: 1, retryPolicy: { backoff: 10, jitter: false, exponential: false } },
      call: async (_ctx, args: { i: string; kind: string }) => {
        count(args.i);
        return badResult(args.kind);
      },
    },
  ]);
  const encoders = new TaskPayloadEncoderRegistry({ encoders: [{ id: FUZZ_B64, encode: (v) => Buffer.from(JSON.stringify(v)).toString('base64'), decode: decodeB64 }] });
  const stem = new Stem({ broker: fixture.broker, backend: fixture.backend, registry, encoders });

  const items = generateItems(rng, queue, itemCount, `s${seed}`);
  const half = Math.floor(items.length / 2);
  const stored = [
    ...(await fixture.injectRaw(
      queue,
      items.slice(0, half).map((x) => x.raw),
    )),
  ];
  const valid: { id: string; label: string }[] = [];
  const enqueueValid = async (n: number, tag: string) => {
    for (let k = 0; k < n; k++) {
      const label = `${tag}${k}`;
      valid.push({ id: await stem.enqueue(FUZZ_TASK, { i: label }, { priority: rng.int(0, 9) }), label });
    }
  };
  await enqueueValid(Math.max(10, Math.floor(itemCount / 4)), 'v');
  const flaky: { id: string; label: string }[] = [];
  for (let k = 0; k < 3; k++) flaky.push({ id: await stem.enqueue(FLAKY_TASK, { i: `flaky${k}` }), label: `flaky${k}` });
  const results: { id: string; label: string; kind: string }[] = [];
  for (const [k, kind] of resultKinds.entries()) results.push({ id: await stem.enqueue(RESULT_TASK, { i: `result${k}`, kind }), label: `result${k}`, kind });
  stored.push(
    ...(await fixture.injectRaw(
      queue,
      items.slice(half).map((x) => x.raw),
    )),
  );

  const now = Date.now();
  const expected = items.map((item, k): Expectation | undefined => (stored[k] ? expectationOf(item, backend, now) : undefined));
  const mustRun = new Map<string, number>();
  for (const e of expected) if (e?.kind === 'run') mustRun.set(e.label, (mustRun.get(e.label) ?? 0) + 1);
  for (const v of valid) mustRun.set(v.label, 1);
  const mustDie = expected.filter((e) => e?.kind === 'dead').length;
  const malformedCount = expected.filter((e) => e?.kind === 'dead' && !['unregistered-task', 'expired', 'invalid-args', 'unknown args encoder'].includes(e.why)).length;
  const explain = (k: number) =>
    `${items[k]!.category} ${JSON.stringify(expected[k])} ${(items[k]!.raw.text ?? '').slice(0, 300)} lease=${items[k]!.raw.lease ?? ''} fields=${JSON.stringify(items[k]!.raw.fields)?.slice(0, 200)}`;

  const worker = new Worker({ broker: fixture.broker, backend: fixture.backend, registry, queues: [queue], concurrency: 4, encoders });
  await worker.start();
  try {
    const dead = async () => (await fixture.broker.listDeadLetters(queue, { limit: 100_000 })).items;
    const terminal = async (ids: readonly string[], states: readonly string[]) =>
      (await Promise.all(ids.map((id) => fixture.backend.get(id)))).every((s) => s !== null && states.includes(s.state));
    const settled = await until(
      async () =>
        [...mustRun].every(([label, n]) => (runs.get(label) ?? 0) >= n) &&
        (await dead()).length >= mustDie + flaky.length &&
        (await terminal(
          valid.map((v) => v.id),
          ['succeeded'],
        )) &&
        (await terminal(
          flaky.map((v) => v.id),
          ['failed'],
        )) &&
        (await terminal(
          results.map((v) => v.id),
          ['succeeded', 'failed'],
        )),
      10_000 + itemCount * 20,
    );
    // NOTE: a pause, so a delivery that runs twice or redelivers in a loop shows up.
    await sleep(500);
    const letters = await dead();
    const missing = [...mustRun].filter(([label, n]) => (runs.get(label) ?? 0) !== n).map(([label]) => label);
    const missingItems = items.map((x, k) => (missing.includes(x.label) ? explain(k) : '')).filter(Boolean);
    const unexpected = [...runs].filter(([label]) => !mustRun.has(label) && !flaky.some((f) => f.label === label) && !results.some((r) => r.label === label));
    const unexpectedItems = items.map((x, k) => (unexpected.some(([l]) => l === x.label) ? explain(k) : '')).filter(Boolean);
    const stateOf = async (ids: readonly { id: string; label: string }[]) =>
      (await Promise.all(ids.map(async (x) => `${x.label}:${(await fixture.backend.get(x.id))?.state}`))).join(' ');
    const deadIds = new Set(letters.map((d) => d.envelope.id));
    const idOf = (k: number) => (items[k]!.raw.value as { id?: unknown } | null | undefined)?.id;
    const undead = expected.map((e, k) => (e?.kind === 'dead' && !deadIds.has(String(idOf(k))) ? explain(k) : '')).filter(Boolean);
    const progress = settled
      ? ''
      : `expected dead without a dead letter of their id: ${undead.join('\n')}\n; dead ${letters.length}/${mustDie + flaky.length} (${JSON.stringify(letters.map((d) => d.reason))}); valid ${await stateOf(valid)}; flaky ${await stateOf(flaky)}; results ${await stateOf(results)}`;
    expect(
      settled && missing.length === 0 && unexpected.length === 0,
      `settled=${settled} ${progress}; wrong run counts: ${missing.map((l) => `${l}=${runs.get(l) ?? 0}`).join(', ')} ${missingItems.join('\n')}; ran but must not: ${JSON.stringify(unexpected)} ${unexpectedItems.join('\n')}`,
    ).toBe(true);

    // status writes: every valid task succeeded once, each bad result ended once, within its budget
    const statuses = await Promise.all(valid.map((v) => fixture.backend.get(v.id)));
    expect(statuses.map((s) => s?.state)).toEqual(valid.map(() => 'succeeded'));
    for (const f of flaky) expect(runs.get(f.label), `${f.label} runs`).toBe(FLAKY_RETRIES + 1);
    for (const r of results) expect(runs.get(r.label) ?? 0, `${r.label} (${r.kind}) runs`).toBeLessThanOrEqual(2);
    const resultLetters = letters.filter((d) => results.some((r) => r.id === d.envelope.id));
    for (const r of results) expect(resultLetters.filter((d) => d.envelope.id === r.id).length, `${r.kind} dead letters`).toBeLessThanOrEqual(1);

    // dead letters: one per item that must not run, each with a reason
    const reasons = letters.map((d) => d.reason);
    expect(reasons.every((reason) => typeof reason === 'string' && reason.length > 0)).toBe(true);
    expect(letters.filter((d) => d.reason === 'max-retries-exhausted' && flaky.some((f) => f.id === d.envelope.id))).toHaveLength(flaky.length);
    expect(
      letters.length,
      `dead letters by reason: ${JSON.stringify(reasons.reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {}))}, expected ${mustDie} + ${flaky.length} + ${resultLetters.length}`,
    ).toBe(mustDie + flaky.length + resultLetters.length);
    expect(reasons.filter((r) => r === MALFORMED_ENVELOPE_REASON)).toHaveLength(malformedCount);

    // nothing pending, leased or queued
    expect(await fixture.broker.pendingCount(queue)).toBe(0);
    expect(await fixture.broker.inflightCount(queue)).toBe(0);
    expect(await fixture.stranded?.(queue)).toBeFalsy();

    // the worker is alive and consuming
    const after = await stem.enqueue(FUZZ_TASK, { i: 'after' });
    expect(await until(async () => (await fixture.backend.get(after))?.state === 'succeeded', 10_000), 'a task enqueued after the fuzz items ran').toBe(true);

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(protoKeys()).toBe(prototypeBefore);
    return { items: items.length, stored: stored.filter(Boolean).length, dead: letters.length, runs: [...runs.values()].reduce((a, b) => a + b, 0) };
  } finally {
    await worker.close({ mode: 'hard' });
  }
}

/** Runs the fuzz rounds against one backend: one test per seed, then a memory check over several rounds. */
export function runFuzzTests(backend: Backend, create: () => Promise<BadInputFixture>): void {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });
  const timeout = 60_000 + ITEMS * 100;

  for (const seed of fuzzSeeds(SEEDS)) {
    it(
      `seed ${seed}: every item ends as its validator says, nothing stranded, the worker alive`,
      async () => {
        const fixture = await create();
        closers.push(() => fixture.close());
        const started = Date.now();
        try {
          const report = await runRound(fixture, backend, seed, ITEMS);
          console.log(
            `[fuzz ${backend}] seed ${seed}: ${report.items} items (${report.stored} stored), ${report.runs} runs, ${report.dead} dead letters, ${Date.now() - started} ms`,
          );
        } catch (error) {
          console.log(`[fuzz ${backend}] seed ${seed} FAILED; reproduce with STEM_FUZZ_SEED=${seed} STEM_FUZZ_ITEMS=${ITEMS} npx vitest run test/fuzz/fuzz.${backend}.spec.ts`);
          (error as Error).message = `seed ${seed} (STEM_FUZZ_SEED=${seed} STEM_FUZZ_ITEMS=${ITEMS}): ${(error as Error).message}`;
          throw error;
        }
      },
      timeout,
    );
  }

  describe('status writes: one status a store refuses never fails the statuses written with it', () => {
    it(
      `each bad result (${BAD_RESULTS.join(', ')}) ends once, within its retry budget, and its neighbours succeed`,
      async () => {
        const fixture = await create();
        closers.push(() => fixture.close());
        await runRound(fixture, backend, fuzzSeeds(1)[0]! + 20_000, 10, BAD_RESULTS);
      },
      timeout,
    );

    it(
      'status writes with bad ids and payloads in the same tick never fail their neighbours',
      async () => {
        const fixture = await create();
        closers.push(() => fixture.close());
        const rng = new Prng(fuzzSeeds(1)[0]! + 30_000);
        const tag = uniqueName('st');
        const badIds = ['', 'a\u0000b', 'x\ud800', '\udc00', 'i'.repeat(10_000), '__proto__', 'constructor'];
        const badPayloads: unknown[] = BAD_RESULTS.map(badResult);
        const writes: { id: string; valid: boolean; done: Promise<void> }[] = [];
        for (let k = 0; k < 60; k++) {
          const roll = rng.int(0, 2);
          const id = roll === 1 ? rng.pick(badIds) : `${tag}-${k}`;
          const payload = roll === 2 ? rng.pick(badPayloads) : { k };
          writes.push({ id, valid: roll === 0, done: fixture.backend.set(id, { state: 'succeeded', attempt: 0, name: 'fuzz.status', payload }) });
        }
        const outcomes = await Promise.race([Promise.allSettled(writes.map((w) => w.done)), sleep(10_000).then(() => 'timeout' as const)]);
        expect(outcomes, 'every status write settles').not.toBe('timeout');
        const settledWrites = outcomes as PromiseSettledResult<void>[];
        const failedValid = writes.flatMap((w, k) => {
          const outcome = settledWrites[k]!;
          return w.valid && outcome.status === 'rejected' ? [`${w.id}: ${String(outcome.reason)}`] : [];
        });
        expect(failedValid, 'valid writes next to bad ones').toEqual([]);
        for (const w of writes.filter((x) => x.valid)) expect((await fixture.backend.get(w.id))?.state, w.id).toBe('succeeded');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      },
      timeout,
    );
  });

  it(
    `heap stays bounded over ${ROUNDS} rounds on one broker`,
    async () => {
      const fixture = await create();
      closers.push(() => fixture.close());
      const heap: number[] = [];
      const base = fuzzSeeds(1)[0]! + 10_000;
      for (let round = 0; round < ROUNDS; round++) {
        await runRound(fixture, backend, base + round, Math.min(ITEMS, 30));
        collect();
        heap.push(process.memoryUsage().heapUsed);
      }
      const mb = heap.map((h) => Math.round(h / 1e5) / 10);
      console.log(`[fuzz ${backend}] heapUsed after GC per round (MB): ${mb.join(', ')}`);
      // NOTE: the first round warms caches and compiles code; growth is measured from the second.
      const growth = heap[heap.length - 1]! - heap[1]!;
      expect(growth, `heap per round (MB): ${mb.join(', ')}`).toBeLessThan(8 * 1024 * 1024);
    },
    timeout * 2,
  );
}
