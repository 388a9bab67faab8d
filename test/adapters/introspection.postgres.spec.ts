import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { runIntrospectionContractTests } from '../../lib/testing/introspection.contract.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schema = testSchema();
const options = { schema, logger: recordingLogger() };

describe.runIf(available)('Postgres operations queries', () => {
  afterAll(() => dropSchema(schema));

  runIntrospectionContractTests('postgres', {
    create: async (backendOptions) => ({
      broker: await PostgresBroker.connect(POSTGRES_URL, options),
      backend: await PostgresResultBackend.connect(POSTGRES_URL, { ...options, ...backendOptions }),
    }),
    argsSearch: true,
  });
});
