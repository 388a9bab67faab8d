import { afterAll, describe, expect, it } from 'vitest';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import type { WorkflowStore } from '../../lib/core/workflow/workflow-store.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('wf-batch');

/** Settles `call` into what a caller sees: its value, or its error's name and message. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await call() };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/**
 * The life of two runs (create, a taken id, reads of a missing run, claims with and without
 * checkpoints, refused writes, a retryable error and the checkpoint that clears it, ends, text that is not
 * UTF-8), each
 * call made through `call`, which either sends it alone or in the same tick as another run's read.
 */
async function story(store: WorkflowStore, clock: FakeWorkflowClock, call: (fn: () => Promise<unknown>) => Promise<unknown>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const step = async (fn: () => Promise<unknown>) => seen.push(await call(fn));
  await step(() => store.createRun({ workflow: 'story', params: { n: 1 }, runId: 'run-a', metadata: { queue: 'q' } }));
  await step(() => store.createRun({ workflow: 'story', params: {}, runId: 'run-a' }));
  await step(() => store.createRun({ workflow: 'story', params: null, runId: 'run-b', cancellationPolicy: { maxRunDuration: 60_000 } }));
  await step(() => store.get('no-such-run'));
  await step(() => store.claimAndLoad!('no-such-run', 'owner-1', 1_000));
  await step(() => store.claimAndLoad!('run-a', 'owner-1', 1_000));
  await step(() => store.claimAndLoad!('run-a', 'owner-2', 1_000));
  await step(() => store.saveStep('run-a', 'a#0', { v: 'é ü "quoted" \\ back\nslash' }, { ownerId: 'owner-1' }));
  await step(() => store.saveStep('run-a', 'b#0', undefined, { ownerId: 'owner-1', meta: { note: 'x' } }));
  await step(() => store.saveStep('run-a', 'c#0', 1, { ownerId: 'owner-2' }));
  await step(() => store.markFailed('run-a', { type: 'Error', message: 'boom', step: 'c#0', attempt: 0, at: clock.now() }, { terminal: false, ownerId: 'owner-1' }));
  await step(() => store.get('run-a'));
  await step(() => store.saveStep('run-a', 'c#0', [1, null, false], { ownerId: 'owner-1' }));
  await clock.advance(1_001);
  await step(() => store.saveStep('run-a', 'd#0', 1, { ownerId: 'owner-1' }));
  await step(() => store.claimAndLoad!('run-a', 'owner-2', 1_000));
  await step(() => store.markCompleted('run-a', { done: true }, { ownerId: 'owner-1' }));
  await step(() => store.markCompleted('run-a', { done: true }, { ownerId: 'owner-2' }));
  await step(() => store.markCompleted('run-a', { done: 'again' }, { ownerId: 'owner-2' }));
  await step(() => store.markFailed('run-b', { type: 'Error', message: 'fatal', at: clock.now() }, { terminal: true }));
  await step(() => store.get('run-a'));
  await step(() => store.listSteps('run-a'));
  await step(() => store.saveStep('run-b', 'a#0', 1));
  await step(() => store.createRun({ workflow: 'bad', params: {}, runId: 'bad{id}' }));
  await step(() => store.createRun({ workflow: 'story', params: { s: 'lone \ud800' }, runId: 'run-c' }));
  await step(() => store.saveStep('run-c', 'lone \udc00 step#0', 'lone \ud800'));
  await step(() => store.listSteps('run-c'));
  return seen;
}

describe.runIf(available)('Redis workflow store: one call for the operations of many runs', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  it('answers every run operation as the same operation sent alone does', async () => {
    const start = Date.UTC(2030, 0, 1);
    const aloneClock = new FakeWorkflowClock(start);
    const batchedClock = new FakeWorkflowClock(start);
    const alone = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:alone`, clock: aloneClock });
    const batched = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:batched`, clock: batchedClock });
    try {
      const one = await story(alone, aloneClock, (fn) => outcome(fn));
      // NOTE: a read of another run in the same tick makes the call one operation of a wf-batch.
      const two = await story(batched, batchedClock, async (fn) => (await Promise.all([outcome(fn), batched.get('companion')]))[0]);
      expect(two).toEqual(one);
      expect(one[1]).toMatchObject({ error: expect.stringContaining('run-a') });
      expect(one[5]).toMatchObject({ value: { run: { id: 'run-a', ownerId: 'owner-1' }, steps: [] } });
      expect(one.slice(6, 10)).toEqual([{ value: null }, { value: true }, { value: true }, { value: false }]);
      expect(one[11]).toMatchObject({ value: { status: 'running', lastError: { type: 'Error', message: 'boom', step: 'c#0' } } });
      expect(one.slice(12, 14)).toEqual([{ value: true }, { value: false }]);
      expect(one[14]).toMatchObject({
        value: { run: { ownerId: 'owner-2', cursor: 3, lastError: null }, steps: [{ name: 'a#0' }, { name: 'b#0', meta: { note: 'x' } }, { name: 'c#0' }] },
      });
      expect(one[15]).toEqual({ value: null });
      expect(one[16]).toMatchObject({ value: { status: 'completed', result: { done: true }, ownerId: null } });
      expect(one[17]).toEqual({ value: null });
      expect(one[20]).toMatchObject({ value: [{ value: { v: 'é ü "quoted" \\ back\nslash' } }, { value: undefined }, { value: [1, null, false] }] });
      expect(one[21]).toEqual({ value: false });
      expect(one[22]).toMatchObject({ error: expect.stringContaining('bad{id}') });
      expect(one[24]).toEqual({ value: true });
      expect(one[25]).toMatchObject({ value: [{ name: 'lone \ufffd step#0', value: 'lone \ud800' }] });
    } finally {
      await alone.close();
      await batched.close();
    }
  });
});

describe.runIf(available)('Redis workflow store: index writes made by the run operations themselves', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:index`));

  it('a rewound run whose workflow name JSON escapes stays listed once the retention of its first end has passed', async () => {
    const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:index`, clock, retention: '1h' });
    const workflow = 'odd/"name" \\ \t\u0001 ü';
    try {
      const [run, other] = await Promise.all([store.createRun({ workflow, params: {} }), store.createRun({ workflow, params: {} })]);
      expect((await store.listRuns({ workflow })).map((r) => r.id).sort()).toEqual([run.id, other.id].sort());
      await store.saveStep(run.id, 'a', 1);
      await Promise.all([store.markCompleted(run.id, 1), store.markCompleted(other.id, 2)]);
      await store.rewindToStep(run.id, 'a');
      await clock.advance('2h');
      expect(await store.sweepExpired()).toBe(1);
      expect((await store.listRuns({ workflow })).map((r) => [r.id, r.status])).toEqual([[run.id, 'suspended']]);
    } finally {
      await store.close();
    }
  });
});
