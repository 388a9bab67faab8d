import { afterAll, describe, expect, it } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { runWorkflowRetentionContractTests } from '../../lib/testing/workflow-retention.contract.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';
import { postgresAvailable } from '../support/services.js';
import { adminQuery, dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';

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
