import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresLockStore, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';
import { itRecordsEveryConcurrentDuplicate } from './duplicates.suite.js';

const available = await postgresAvailable();
const schema = testSchema();
const options = { schema, logger: recordingLogger() };

describe.runIf(available)('unique tasks on Postgres', () => {
  afterAll(() => dropSchema(schema));

  itRecordsEveryConcurrentDuplicate(
    async () => ({
      broker: await PostgresBroker.connect(POSTGRES_URL, options),
      backend: await PostgresResultBackend.connect(POSTGRES_URL, options),
      lockStore: await PostgresLockStore.connect(POSTGRES_URL, options),
    }),
    'unique-dups',
  );
});
