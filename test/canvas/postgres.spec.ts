import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { PostgresGroupStore } from '../../lib/adapters/postgres/postgres.group-store.js';
import { runGroupStoreContractTests } from '../../lib/testing/group-store.contract.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';
import { runBatchTests } from './batches.suite.js';
import { runCanvasTests } from './canvas.suite.js';

const available = await postgresAvailable();
const schema = testSchema();
const options = { schema, logger: recordingLogger() };

describe.runIf(available)('Postgres canvas', () => {
  afterAll(() => dropSchema(schema));

  runGroupStoreContractTests('postgres', { create: () => PostgresGroupStore.connect(POSTGRES_URL, options) });

  const opened: { close(): Promise<void> }[] = [];
  const factory = {
    create: async () => {
      const parts = {
        broker: await PostgresBroker.connect(POSTGRES_URL, options),
        backend: await PostgresResultBackend.connect(POSTGRES_URL, options),
        groupStore: await PostgresGroupStore.connect(POSTGRES_URL, options),
      };
      opened.push(parts.broker, parts.backend, parts.groupStore);
      return parts;
    },
    dispose: async () => {
      for (const c of opened.splice(0)) await c.close();
    },
  };
  runCanvasTests('postgres', factory);
  runBatchTests('postgres', factory);
});
