import { afterAll, describe, expect, it } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { DuplicateWorkflowRunError } from '../../lib/core/workflow/errors/duplicate-workflow-run.error.js';
import { runWorkflowRetentionContractTests } from '../../lib/testing/workflow-retention.contract.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';
import { postgresAvailable } from '../support/services.js';
import pg from 'pg';
import { sleep } from '../../lib/testing/contract-helpers.js';
import { adminQuery, dropSchema, eventually, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { claimAndLoadCases } from './claim-and-load.cases.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('Postgres workflow store', () => {
  afterAll(() => dropSchema(schema));

  runWorkflowStoreContractTests('postgres', {
    create: async (clock) => {
      const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, clock, logger: recordingLogger() });
      // NOTE: the due and watcher queries span runs, so each test starts from empty tables.
      await adminQuery(`TRUNCATE "${schema}".workflow_runs CASCADE`);
      return store;
    },
  });
  runWorkflowRetentionContractTests('postgres', {
    create: (clock, options) => PostgresWorkflowStore.connect(POSTGRES_URL, { schema, clock, logger: recordingLogger(), sweepInterval: 0, ...options }),
  });

  claimAndLoadCases((clock) => PostgresWorkflowStore.connect(POSTGRES_URL, { schema, clock, logger: recordingLogger(), sweepInterval: 0 }));

  it('claimAndLoad returns a checkpoint that committed while the claim waited for the run row', async () => {
    const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, logger: recordingLogger(), sweepInterval: 0 });
    const writer = new pg.Client({ connectionString: POSTGRES_URL });
    await writer.connect();
    try {
      const run = await store.createRun({ workflow: 'load', params: {} });
      await store.saveStep(run.id, 'a', 1);
      // Another executor's checkpoint write, held open on the run row.
      await writer.query('BEGIN');
      await writer.query(`UPDATE "${schema}".workflow_runs SET cursor = cursor + 1, updated_at = updated_at + 1 WHERE id = $1`, [run.id]);
      await writer.query(`INSERT INTO "${schema}".workflow_steps (run_id, name, position, value, completed_at) VALUES ($1, 'b', 1, '2', 0)`, [run.id]);
      const claiming = store.claimAndLoad(run.id, 'owner', 5_000);
      const waiting = async () =>
        (await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE "${schema}".workflow_runs SET owner_id%'`)).rowCount === 1;
      expect(await eventually(waiting)).toBe(true);
      await writer.query('COMMIT');
      const loaded = await claiming;
      expect(loaded?.run).toMatchObject({ cursor: 2, ownerId: 'owner' });
      expect(loaded?.steps.map((s) => [s.name, s.value])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
    } finally {
      await writer.end();
      await store.close();
    }
  });

  it('runs created at once are each stored, and an id taken (before or in the same batch) fails only its own start', async () => {
    const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, logger: recordingLogger(), sweepInterval: 0 });
    try {
      const taken = await store.createRun({ workflow: 'first', params: {}, runId: `taken-${schema}` });
      const created = await Promise.allSettled([
        ...Array.from({ length: 30 }, (_, i) => store.createRun({ workflow: 'many', params: { i }, metadata: { i }, cancellationPolicy: { maxRunDuration: 1_000 } })),
        store.createRun({ workflow: 'again', params: {}, runId: taken.id }),
        store.createRun({ workflow: 'twin', params: { n: 1 }, runId: `twin-${schema}` }),
        store.createRun({ workflow: 'twin', params: { n: 2 }, runId: `twin-${schema}` }),
        store.createRun({ workflow: 'child', params: undefined, parentRunId: taken.id }),
      ]);
      const ok = created.filter((c) => c.status === 'fulfilled').map((c) => c.value);
      expect(ok).toHaveLength(32);
      for (const [i, run] of ok.slice(0, 30).entries()) {
        expect(run).toMatchObject({ workflow: 'many', status: 'running', params: { i }, metadata: { i }, cursor: 0 });
        expect(await store.get(run.id)).toMatchObject({ workflow: 'many', params: { i }, cancellationPolicy: { maxRunDuration: 1_000 } });
      }
      expect((created[30] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateWorkflowRunError);
      expect(created[31]).toMatchObject({ status: 'fulfilled', value: { id: `twin-${schema}`, params: { n: 1 } } });
      expect((created[32] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateWorkflowRunError);
      expect(created[33]).toMatchObject({ status: 'fulfilled', value: { workflow: 'child', parentRunId: taken.id } });
      expect((await store.get(taken.id))?.workflow).toBe('first');
    } finally {
      await store.close();
    }
  });

  it('checkpoints saved at once by many runs are each checked against their own run and lease', async () => {
    const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, logger: recordingLogger(), sweepInterval: 0 });
    try {
      const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.createRun({ workflow: 'many', params: { i } })));
      const ids = runs.map((r) => r.id);
      expect(await Promise.all(ids.map((id) => store.claimRun(id, 'owner', 60_000)))).toEqual(ids.map(() => true));
      await Promise.all(ids.slice(30).map((id) => store.markCompleted(id, 'done', { ownerId: 'owner' })));
      const lapsed = await store.createRun({ workflow: 'many', params: {} });
      expect(await store.claimRun(lapsed.id, 'owner', 1)).toBe(true);
      await sleep(20);
      // NOTE: issued in one turn, so they go out together: good saves, a stranger's, ended runs,
      // a run that does not exist, and two saves of one run.
      const saves = await Promise.all([
        ...ids.slice(0, 20).map((id, i) => store.saveStep(id, 'a', { i }, { ownerId: 'owner', meta: { n: i } })),
        ...ids.slice(20, 30).map((id) => store.saveStep(id, 'a', 'stolen', { ownerId: 'intruder' })),
        ...ids.slice(30).map((id) => store.saveStep(id, 'a', 'late', { ownerId: 'owner' })),
        store.saveStep(lapsed.id, 'a', 'after the lease', { ownerId: 'owner' }),
        store.saveStep('no-such-run', 'a', 1),
        store.saveStep(ids[0]!, 'b', undefined, { ownerId: 'owner' }),
      ]);
      expect(saves).toEqual([...Array(20).fill(true), ...Array(10).fill(false), ...Array(10).fill(false), false, false, true]);
      expect(await store.listSteps(lapsed.id)).toEqual([]);
      const first = await store.listSteps(ids[0]!);
      expect(first.map((c) => [c.name, c.position, c.value, c.meta])).toEqual([
        ['a', 0, { i: 0 }, { n: 0 }],
        ['b', 1, undefined, undefined],
      ]);
      expect((await store.get(ids[0]!))?.cursor).toBe(2);
      for (const [i, id] of ids.slice(1, 20).entries()) {
        expect((await store.listSteps(id)).map((c) => [c.name, c.position, c.value])).toEqual([['a', 0, { i: i + 1 }]]);
        expect((await store.get(id))?.cursor).toBe(1);
      }
      for (const id of ids.slice(20)) expect(await store.listSteps(id)).toEqual([]);
      // An overwrite of a known checkpoint keeps its position and the cursor.
      expect(await Promise.all([store.saveStep(ids[1]!, 'a', 'again', { ownerId: 'owner' }), store.saveStep(ids[2]!, 'a', 'again', { ownerId: 'owner' })])).toEqual([true, true]);
      expect((await store.listSteps(ids[1]!)).map((c) => [c.name, c.position, c.value])).toEqual([['a', 0, 'again']]);
      expect((await store.get(ids[1]!))?.cursor).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('a value the database refuses fails only its own start or save; the others of the same batch are stored', async () => {
    const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, logger: recordingLogger(), sweepInterval: 0 });
    try {
      const created = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => store.createRun({ workflow: i === 2 ? 'nul \u0000 inside' : 'fine', params: { i } })));
      expect(created.map((c) => c.status)).toEqual(created.map((_, i) => (i === 2 ? 'rejected' : 'fulfilled')));
      const ids = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value.id] : []));
      expect(await Promise.all(ids.map((id) => store.claimRun(id, 'owner', 60_000)))).toEqual(ids.map(() => true));
      const saves = await Promise.allSettled(ids.map((id, i) => store.saveStep(id, i === 1 ? 'nul \u0000' : 'a', i, { ownerId: 'owner' })));
      expect(saves.map((s) => s.status)).toEqual(ids.map((_, i) => (i === 1 ? 'rejected' : 'fulfilled')));
      for (const [i, id] of ids.entries()) expect((await store.listSteps(id)).map((c) => c.value)).toEqual(i === 1 ? [] : [i]);
    } finally {
      await store.close();
    }
  });

  it('the retention sweep deletes expired runs with their checkpoints, on the expiry index', async () => {
    const store = await PostgresWorkflowStore.connect(POSTGRES_URL, { schema, logger: recordingLogger(), retention: 1, sweepInterval: 0 });
    try {
      const run = await store.createRun({ workflow: 'sweep', params: {} });
      await store.saveStep(run.id, 'a', 1);
      await store.markCompleted(run.id, 1);
      expect(await store.sweepExpired(Date.now() + 10)).toBeGreaterThanOrEqual(1);
      const { rows } = await adminQuery<{ runs: number; steps: number }>(
        `SELECT (SELECT count(*)::int FROM "${schema}".workflow_runs WHERE id = $1) AS runs, (SELECT count(*)::int FROM "${schema}".workflow_steps WHERE run_id = $1) AS steps`,
        [run.id],
      );
      expect(rows[0]).toEqual({ runs: 0, steps: 0 });
      const plan = await adminQuery<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${schema}".workflow_runs WHERE expires_at IS NOT NULL AND expires_at <= 1 ORDER BY expires_at LIMIT 10`,
      );
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/workflow_runs_expiry_idx/);
    } finally {
      await store.close();
    }
  });
});
