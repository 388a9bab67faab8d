import { afterAll, describe } from 'vitest';
import { PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
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
});
