import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresLockStore, PostgresRateLimiter, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { runBrokerContractTests } from '../../lib/testing/broker.contract.js';
import { runLockStoreContractTests } from '../../lib/testing/lock-store.contract.js';
import { runRateLimiterContractTests } from '../../lib/testing/rate-limiter.contract.js';
import { runResultBackendContractTests } from '../../lib/testing/result-backend.contract.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { postgresAvailable } from '../support/services.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();
const options = { schema, logger: recordingLogger() };

describe.runIf(available)('Postgres adapter', () => {
  afterAll(() => dropSchema(schema));

  runBrokerContractTests('postgres', { create: () => PostgresBroker.connect(POSTGRES_URL, options) });
  runResultBackendContractTests('postgres', {
    create: () => PostgresResultBackend.connect(POSTGRES_URL, options),
    refusedWrites: () => [
      { id: `nul\u0000-${uuidv7()}`, update: { state: 'succeeded', attempt: 0, payload: 1 } },
      { id: uuidv7(), update: { state: 'failed', attempt: 0, meta: { note: 'nul \u0000 inside' } } },
      { id: uuidv7(), update: { state: 'failed', attempt: 0, meta: { lone: '\ud800' } } },
    ],
  });
  runLockStoreContractTests('postgres', { create: () => PostgresLockStore.connect(POSTGRES_URL, options) });
  runRateLimiterContractTests('postgres', { create: () => PostgresRateLimiter.connect(POSTGRES_URL, options) });
});
