import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';
import { runRoutingTests } from './routing.suite.js';

const available = await postgresAvailable();
const schema = testSchema();
const options = { schema, logger: recordingLogger() };

describe.runIf(available)('Postgres routing', () => {
  afterAll(() => dropSchema(schema));
  const opened: { close(): Promise<void> }[] = [];
  runRoutingTests('postgres', {
    open: async () => {
      const parts = { broker: await PostgresBroker.connect(POSTGRES_URL, options), backend: await PostgresResultBackend.connect(POSTGRES_URL, options) };
      opened.push(parts.broker, parts.backend);
      return parts;
    },
    close: async () => {
      for (const c of opened.splice(0)) await c.close();
    },
  });
});
