import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { saveSteps } from '../../lib/adapters/postgres/sql/workflows.sql.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';
import { adminQuery, eventually, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schema = testSchema();
// NOTE: a database of its own: on Postgres 14 and later, an old snapshot held by a test elsewhere
// in the same database would keep Postgres from pruning the row versions a HOT update needs the
// room of.
const database = `${schema}_db`;
const url = Object.assign(new URL(POSTGRES_URL), { pathname: `/${database}` }).href;

/** Updates of `workflow_runs` so far, and how many of them left the indexes alone (HOT), as the statistics collector last heard. */
async function runUpdates(pool: pg.Pool): Promise<{ updates: number; hot: number }> {
  const { rows } = await pool.query<{ updates: number; hot: number }>(
    `SELECT n_tup_upd::int AS updates, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'workflow_runs'`,
    [schema],
  );
  return rows[0] ?? { updates: 0, hot: 0 };
}

describe.runIf(available)('Postgres workflow store: how its statements use the run table', () => {
  let pool: pg.Pool;
  let store: PostgresWorkflowStore;
  const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE "${database}"`);
    pool = new pg.Pool({ connectionString: url, max: 4 });
    store = await PostgresWorkflowStore.connect(pool, { schema, clock, logger: recordingLogger(), sweepInterval: 0 });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await adminQuery(`DROP DATABASE IF EXISTS "${database}"`);
  });

  it('makes the claim and the three checkpoints of each of 30 runs HOT updates', async () => {
    const runs = await Promise.all(Array.from({ length: 30 }, (_, i) => store.createRun({ workflow: 'hot', params: { i }, runId: `hot-${i}` })));
    await Promise.all(runs.map((run) => store.claimAndLoad(run.id, 'owner-1', 30_000)));
    for (const step of ['a#0', 'b#0', 'c#0']) {
      await clock.advance(5);
      await Promise.all(runs.map((run) => store.saveStep(run.id, step, { step }, { ownerId: 'owner-1' })));
    }
    expect((await store.listSteps('hot-7')).map((s) => s.name)).toEqual(['a#0', 'b#0', 'c#0']);
    // NOTE: a backend reports its table statistics within about ten seconds of going idle.
    expect(await eventually(async () => (await runUpdates(pool)).updates >= 120, 20_000)).toBe(true);
    const { updates, hot } = await runUpdates(pool);
    expect(updates).toBe(120);
    // NOTE: a version that finds no room on its page goes elsewhere and is not HOT; the claims alone are 30.
    expect(hot).toBeGreaterThanOrEqual(100);
  }, 30_000);

  it('keeps every column a claim or a checkpoint writes out of the run indexes', async () => {
    const { rows } = await pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'workflow_runs'`, [schema]);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const { indexdef } of rows) expect(indexdef).not.toMatch(/\b(updated_at|cursor|owner_id|lease_expires_at|resume_data|last_error)\b/);
  });

  it('lists the runs a recovery sweep may take oldest update first', async () => {
    const ids = ['sweep-b', 'sweep-a', 'sweep-c'];
    for (const runId of ids) await store.createRun({ workflow: 'sweep', params: {}, runId });
    await clock.advance(5);
    await store.saveStep('sweep-b', 'a#0', 1);
    const listed = (await store.listRunnableRuns({ now: clock.now(), limit: 1_000 })).map((r) => r.id).filter((id) => id.startsWith('sweep-'));
    expect(listed).toEqual(['sweep-a', 'sweep-c', 'sweep-b']);
  });

  it('finds the runs of a checkpoint batch by primary key while the statistics say no run is running', async () => {
    const table = `"${schema}".workflow_runs`;
    await pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    await pool.query(
      `INSERT INTO ${table} (id, workflow, status, params, created_at, updated_at, metadata)
       SELECT 'backlog-' || i, 'plan', 'completed', '{}', 0, 0, '{}' FROM generate_series(1, 20000) AS i`,
    );
    await pool.query(`ANALYZE ${table}`);
    // NOTE: a backlog that arrived after the last ANALYZE: the planner still thinks none is running.
    await pool.query(`UPDATE ${table} SET status = 'running' WHERE workflow = 'plan'`);
    const ids = Array.from({ length: 50 }, (_, i) => `backlog-${i * 400 + 1}`);
    const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>({
      text: `EXPLAIN (FORMAT JSON) ${saveSteps(`"${schema}"`)}`,
      values: [ids, ids.map(() => 'a#0'), ids.map(() => '1'), ids.map(() => 'owner-1'), ids.map(() => null), clock.now()],
    });
    const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
    expect(plan).toContain('"Index Name":"workflow_runs_pkey"');
    expect(plan).not.toContain('workflow_runs_running_idx');
  });
});
