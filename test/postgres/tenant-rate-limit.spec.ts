import { afterAll } from 'vitest';
import { migratePostgres, PostgresBroker, PostgresRateLimiter, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { postgresAvailable } from '../support/services.js';
import { runTenantRateLimitSuite } from '../support/tenant-rate-limit.suite.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from './postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();
const url = new URL(POSTGRES_URL);
const logger = recordingLogger();

if (available) {
  await migratePostgres(POSTGRES_URL, { schema, logger });
  afterAll(() => dropSchema(schema));
  runTenantRateLimitSuite('postgres', {
    server: { host: url.hostname, port: Number(url.port || 5432) },
    async open() {
      const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
      const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
      return { broker, backend, close: () => Promise.all([broker.close(), backend.close()]) };
    },
    // NOTE: short query and connect timeouts turn "no reply from the server" into an error the worker sees.
    limiter: (host, port) => {
      const target = new URL(POSTGRES_URL);
      target.hostname = host;
      target.port = String(port);
      return PostgresRateLimiter.connect(target.toString(), { schema, logger, migrate: false, queryTimeout: 300, connectTimeout: 300 });
    },
  });
}
