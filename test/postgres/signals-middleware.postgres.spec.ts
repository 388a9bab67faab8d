import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { runSignalsMiddlewareTests } from '../core/signals-middleware.suite.js';
import { postgresAvailable } from '../support/services.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from './postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('signals and middleware on Postgres', () => {
  afterAll(() => dropSchema(schema));
  runSignalsMiddlewareTests(async () => {
    const logger = recordingLogger();
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
    const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
    return {
      broker,
      backend,
      close: async () => {
        await broker.close();
        await backend.close();
      },
    };
  });
});
