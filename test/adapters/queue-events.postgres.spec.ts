import { afterAll, describe } from 'vitest';
import { PostgresBroker } from '../../lib/adapters/postgres/index.js';
import { runQueueEventsContractTests } from '../../lib/testing/queue-events.contract.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();
const schema = testSchema();
let instances = 0;

describe.runIf(available)('Postgres queue events', () => {
  afterAll(() => dropSchema(schema));
  // NOTE: a distinct application_name gives every instance its own pool and LISTEN connection.
  runQueueEventsContractTests('postgres', {
    create: () => PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger(), pool: { application_name: `stem-events-${++instances}`, max: 2 } }),
  });
});
