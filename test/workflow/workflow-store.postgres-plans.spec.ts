import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { saveSteps } from '../../lib/adapters/postgres/sql/workflows.sql.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('Postgres workflow store: how its statements use the run table', () => {
  let pool: pg.Pool;
  let store: PostgresWorkflowStore;
  const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    store = await PostgresWorkflowStore.connect(pool, { schema, clock, logger: recordingLogger(), sweepInterval: 0 });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await dropSchema(schema);
  });

  // NOTE: whether an update turns out HOT also depends on page pruning, which a transaction open
  // anywhere on the server (another test's, in any database) holds back, so this checks what the
  // schema decides, not a count of HOT updates.
  it('keeps every column a claim or a checkpoint writes out of the run indexes, and half of each new page free', async () => {
    const { rows } = await pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'workflow_runs'`, [schema]);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const { indexdef } of rows) expect(indexdef).not.toMatch(/\b(updated_at|cursor|owner_id|lease_expires_at|resume_data|last_error)\b/);
    const options = await pool.query<{ reloptions: string[] }>(`SELECT reloptions FROM pg_class WHERE oid = $1::regclass`, [`"${schema}".workflow_runs`]);
    expect(options.rows[0]!.reloptions).toEqual(['fillfactor=50']);
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
