import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';
import { dropSchema, POSTGRES_URL, recordingLogger, statementsDuring, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('Postgres workflow store: the claims and ends of concurrent runs share statements', () => {
  let pool: pg.Pool;
  let store: PostgresWorkflowStore;
  const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
    store = await PostgresWorkflowStore.connect(pool, { schema, clock, logger: recordingLogger(), sweepInterval: 0 });
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await dropSchema(schema);
  });

  it('claims forty runs at once in a few statements, each claim answered as if sent alone', async () => {
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.createRun({ workflow: 'batch', params: { i }, runId: `claim-${String(i).padStart(2, '0')}` })));
    await store.saveStep('claim-03', 'a#0', { n: 3 });
    // NOTE: every fourth run is held by another owner, whose lease is live.
    for (let i = 0; i < 40; i += 4) expect(await store.claimRun(runs[i]!.id, 'other', 60_000)).toBe(true);
    let claims: Awaited<ReturnType<NonNullable<PostgresWorkflowStore['claimAndLoad']>>>[] = [];
    const sent = await statementsDuring(pool, async () => {
      claims = await Promise.all([
        ...runs.map((run) => store.claimAndLoad(run.id, 'owner-1', 30_000)),
        store.claimAndLoad('claim-05', 'owner-1', 30_000),
        store.claimAndLoad('no-such-run', 'owner-1', 30_000),
      ]);
    });
    runs.forEach((run, i) => {
      if (i % 4 === 0) expect(claims[i]).toBeNull();
      else expect(claims[i]).toMatchObject({ run: { id: run.id, ownerId: 'owner-1', leaseExpiresAt: clock.now() + 30_000, params: { i } } });
    });
    expect(claims[3]!.steps).toMatchObject([{ name: 'a#0', value: { n: 3 } }]);
    expect(claims[40]).toMatchObject({ run: { id: 'claim-05', ownerId: 'owner-1' } });
    expect(claims[41]).toBeNull();
    expect(sent.length).toBeLessThanOrEqual(6);
    expect(sent.length).toBeGreaterThan(0);
  });

  it('ends forty runs at once in a few statements; an end another owner holds, or of an ended run, changes nothing', async () => {
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.createRun({ workflow: 'batch', params: { i }, runId: `end-${String(i).padStart(2, '0')}` })));
    for (const run of runs) expect(await store.claimRun(run.id, run.id.endsWith('7') ? 'other' : 'owner-1', 60_000)).toBe(true);
    await store.markCompleted('end-01', 'early', { ownerId: 'owner-1' });
    let ends: unknown[] = [];
    const sent = await statementsDuring(pool, async () => {
      ends = await Promise.all([
        ...runs.map((run, i) =>
          i % 2 === 0
            ? store.markCompleted(run.id, { i }, { ownerId: 'owner-1' })
            : store.markFailed(run.id, { type: 'Error', message: `boom ${i}`, at: clock.now() }, { terminal: true, ownerId: 'owner-1' }),
        ),
        store.markCompleted('end-02', 'twice', { ownerId: 'owner-1' }),
      ]);
    });
    runs.forEach((run, i) => {
      if (run.id.endsWith('7') || i === 1) expect(ends[i]).toBeNull();
      else if (i % 2 === 0) expect(ends[i]).toMatchObject({ id: run.id, status: 'completed', result: { i }, ownerId: null });
      else expect(ends[i]).toMatchObject({ id: run.id, status: 'failed', lastError: { message: `boom ${i}` } });
    });
    expect(ends[40]).toBeNull();
    expect(await store.get('end-01')).toMatchObject({ status: 'completed', result: 'early' });
    expect(await store.get('end-07')).toMatchObject({ status: 'running', ownerId: 'other' });
    expect(await store.get('end-02')).toMatchObject({ status: 'completed', result: { i: 2 } });
    expect(sent.length).toBeLessThanOrEqual(6);
  });

  it('ends a child run in its own transaction, with its parent signalled, next to lone runs ending in a batch', async () => {
    const parent = await store.createRun({ workflow: 'parent', params: {}, runId: 'parent-1' });
    const child = await store.createRun({ workflow: 'child', params: {}, runId: 'child-1', parentRunId: parent.id });
    const lone = await Promise.all(Array.from({ length: 5 }, (_, i) => store.createRun({ workflow: 'lone', params: {}, runId: `lone-${i}` })));
    const ended = await Promise.all([store.markCompleted(child.id, 'from child'), ...lone.map((run) => store.markCompleted(run.id, run.id))]);
    expect(ended[0]).toMatchObject({ id: 'child-1', status: 'completed', result: 'from child' });
    lone.forEach((run, i) => expect(ended[i + 1]).toMatchObject({ id: run.id, status: 'completed', result: run.id }));
    expect((await store.listSignals(parent.id)).map((s) => s.payload)).toEqual([expect.objectContaining({ status: 'completed', result: 'from child' })]);
  });

  it('reads forty runs at once in one statement, each read answered as if sent alone', async () => {
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.createRun({ workflow: 'batch', params: { i }, runId: `read-${String(i).padStart(2, '0')}` })));
    let read: unknown[] = [];
    const sent = await statementsDuring(pool, async () => {
      read = await Promise.all([...runs.map((run) => store.get(run.id)), store.get('read-07'), store.get('no-such-run')]);
    });
    runs.forEach((run, i) => expect(read[i]).toMatchObject({ id: run.id, status: 'running', params: { i } }));
    expect(read[40]).toMatchObject({ id: 'read-07', params: { i: 7 } });
    expect(read[41]).toBeNull();
    expect(sent.length).toBeLessThanOrEqual(3);
  });

  it('fails only the end whose result JSON cannot carry; the runs ending next to it end', async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => store.createRun({ workflow: 'batch', params: { i }, runId: `poison-${i}` })));
    const ends = await Promise.allSettled(runs.map((run, i) => store.markCompleted(run.id, i === 4 ? { n: 1n } : { i })));
    ends.forEach((end, i) => {
      if (i === 4) expect(end).toMatchObject({ status: 'rejected', reason: expect.any(TypeError) });
      else expect(end).toMatchObject({ status: 'fulfilled', value: { id: `poison-${i}`, status: 'completed', result: { i } } });
    });
    expect(await store.get('poison-4')).toMatchObject({ status: 'running' });
  });

  it('sends the statements of a run as prepared statements, the same few names round after round', async () => {
    const namesOf = async (round: number) => {
      const names = new Map<string, string>();
      const original = pool.query;
      pool.query = function (this: pg.Pool, ...args: unknown[]) {
        const first = args[0] as string | { text: string; name?: string };
        const text = typeof first === 'string' ? first : first.text;
        names.set(text, (typeof first === 'string' ? undefined : first.name) ?? 'unnamed');
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof pool.query;
      try {
        const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => store.createRun({ workflow: 'named', params: { i }, runId: `named-${round}-${i}` })));
        await Promise.all(runs.map((run) => store.claimAndLoad(run.id, 'owner-1', 30_000)));
        for (const step of ['a#0', 'b#0']) await Promise.all(runs.map((run) => store.saveStep(run.id, step, 1, { ownerId: 'owner-1' })));
        await Promise.all(runs.map((run) => store.get(run.id)));
        await Promise.all(runs.map((run) => store.markCompleted(run.id, 2, { ownerId: 'owner-1' })));
      } finally {
        pool.query = original;
      }
      return names;
    };
    const first = await namesOf(1);
    const second = await namesOf(2);
    expect([...first.values()].filter((name) => !name.startsWith('stem_'))).toEqual([]);
    expect(new Set([...first.values(), ...second.values()]).size).toBe(new Set(first.values()).size);
    expect(first.size).toBeGreaterThanOrEqual(5);
  });
});
