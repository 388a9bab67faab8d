import { afterEach, expect, it } from 'vitest';
import type { Broker, DeadLetterAdmin, DeadLetterEntry } from '../../lib/core/contracts/broker.js';
import type { ResultBackend } from '../../lib/core/contracts/result-backend.js';
import { SimpleTaskRegistry, Stem, Worker } from '../../lib/core/index.js';
import { makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';

/** Task name of the valid tasks the suite enqueues (and of valid entries an adapter injects raw). */
export const OK_TASK = 'bad-input.ok';

/**
 * One item written straight into a broker's storage. `value` is the envelope as an object (what the
 * memory broker stores), `text` the stored text (what Redis and Postgres store; defaults to
 * `JSON.stringify(value)`); the rest are storage columns a hostile writer controls too.
 */
export interface RawItem {
  readonly value?: unknown;
  readonly text?: string;
  /** Priority stream (Redis) or `priority` column (Postgres). */
  readonly priority: number;
  /** Redis: the entry's lease field `v`. */
  readonly lease?: string;
  /** Redis: the entry's fields as written, replacing `e`/`v` (e.g. an entry with no envelope field). */
  readonly fields?: readonly string[];
  /** Postgres: the `visibility_ms` column. */
  readonly visibilityMs?: number | null;
  /** Postgres: the `task_id` column (defaults to a distinct one per item). */
  readonly taskId?: string;
}

/** What an adapter gives the bad-input suite. */
export interface BadInputFixture {
  readonly broker: Broker & DeadLetterAdmin;
  readonly backend: ResultBackend;
  /**
   * Writes malformed items for `queue` straight into storage (the way a buggy or hostile
   * producer would), plus valid raw items whose args are `{ i: <label> }`.
   * @returns how many dead letters the malformed items must end as, and the labels of the valid raw items
   */
  inject(queue: string, phase: 'before' | 'between'): Promise<{ malformed: number; valid: string[] }>;
  /**
   * Writes `items` for `queue` straight into storage, in order.
   * @returns per item, whether the storage accepted it (Postgres refuses text that is not JSON)
   */
  injectRaw(queue: string, items: readonly RawItem[]): Promise<boolean[]>;
  /** Deliveries stuck in storage beyond what `inflightCount` shows (e.g. a Redis pending list); 0 when none. */
  stranded?(queue: string): Promise<number>;
  /** Extra checks on the dead letters once everything settled. */
  checkDeadLetters?(queue: string, dead: readonly DeadLetterEntry[]): Promise<void> | void;
  close(): Promise<void>;
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/**
 * Malformed data next to valid tasks, consumed by a real Worker: every valid task succeeds exactly
 * once, every malformed item ends as exactly one dead letter `malformed-envelope` with details,
 * and nothing stays pending or leased.
 */
export function runBadInputTests(create: () => Promise<BadInputFixture>): void {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  it('runs every valid task once and dead-letters every malformed item once, leaving nothing pending or leased', async () => {
    const fixture = await create();
    closers.push(() => fixture.close());
    const queue = uniqueName('bad');
    const runs = new Map<string, number>();
    const registry = new SimpleTaskRegistry([
      {
        name: OK_TASK,
        options: { queue },
        call: async (_ctx, args: { i: string; slowMs?: number }) => {
          runs.set(String(args.i), (runs.get(String(args.i)) ?? 0) + 1);
          if (args.slowMs) await sleep(args.slowMs);
          return args.i;
        },
      },
    ]);
    const stem = new Stem({ broker: fixture.broker, backend: fixture.backend, registry });
    const before = await fixture.inject(queue, 'before');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await stem.enqueue(OK_TASK, { i: `v${i}` }, { queue, priority: i % 10 }));
    const between = await fixture.inject(queue, 'between');
    for (let i = 30; i < 40; i++) ids.push(await stem.enqueue(OK_TASK, { i: `v${i}` }, { queue, priority: 9 - (i % 10) }));
    const malformed = before.malformed + between.malformed;
    const labels = [...ids.map((_, i) => `v${i}`), ...before.valid, ...between.valid];

    const worker = new Worker({ broker: fixture.broker, backend: fixture.backend, registry, queues: [queue], concurrency: 4 });
    closers.push(() => worker.close({ mode: 'hard' }));
    await worker.start();
    const dead = async () => (await fixture.broker.listDeadLetters(queue, { limit: 1_000 })).items;
    const succeeded = async () => (await Promise.all(ids.map((id) => fixture.backend.get(id)))).every((s) => s?.state === 'succeeded');
    const settled = await until(async () => labels.every((l) => runs.has(l)) && (await dead()).length >= malformed && (await succeeded()), 15_000);
    expect(settled, `runs: ${JSON.stringify([...runs])}, dead: ${(await dead()).length}/${malformed}`).toBe(true);
    // NOTE: a short pause, so a delivery that would run twice (a lease that lapsed at once) shows up.
    await sleep(600);
    const statuses = await Promise.all(ids.map((id) => fixture.backend.get(id)));

    expect(statuses.map((s) => s?.state)).toEqual(ids.map(() => 'succeeded'));
    expect(Object.fromEntries(labels.map((l) => [l, runs.get(l)]))).toEqual(Object.fromEntries(labels.map((l) => [l, 1])));
    const letters = await dead();
    expect(letters).toHaveLength(malformed);
    for (const letter of letters) {
      expect(letter.reason).toBe('malformed-envelope');
      expect(JSON.stringify(letter.meta)).toMatch(/must |is not JSON|lease field |is nested deeper|holds /);
    }
    await fixture.checkDeadLetters?.(queue, letters);
    expect(await fixture.broker.pendingCount(queue)).toBe(0);
    expect(await fixture.broker.inflightCount(queue)).toBe(0);
    expect(await fixture.stranded?.(queue)).toBeFalsy();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 40_000);
}

/** An envelope as JSON text, with fields patched in (including ones of the wrong type). */
export function rawEnvelope(queue: string, patch: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...makeEnvelope(queue, { name: OK_TASK, args: { i: 'never' } }), ...patch });
}

/** Envelope text whose args are arrays nested `depth` deep (too deep for `JSON.stringify` to recurse). */
export function deepEnvelope(queue: string, depth: number): string {
  return rawEnvelope(queue, { args: 'DEEP' }).replace('"DEEP"', `${'['.repeat(depth)}${']'.repeat(depth)}`);
}

/** Patches every adapter injects in one form or another: each breaks exactly one rule. */
export function malformedPatches(): Record<string, unknown>[] {
  return [
    { priority: 'high' },
    { priority: 12 },
    { visibilityTimeout: 0 },
    { attempt: -1e9 },
    { maxRetries: 'many' },
    { headers: { 'x-n': 1 } },
    { meta: { 'stem.expiresAt': -1e16 } },
    { meta: { 'stem.expiresAt': [] } },
    { meta: { 'stem.retryPolicy': { backoff: 'soon' } } },
    { meta: { 'stem.chain': { id: 'c1', next: 'nope' } } },
    { headers: { 'stem-group-id': 'g1' } },
    { id: 'a\u0000b' },
    { name: 'x\ud800' },
    JSON.parse('{"__proto__": {"polluted": 1}, "priority": -1}') as Record<string, unknown>,
  ];
}
