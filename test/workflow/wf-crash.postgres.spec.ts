import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { PrivatePostgres, serverTooling } from '../postgres/private-postgres.js';
import { postgresAvailable } from '../support/services.js';
import type { CrashBackend } from './wf-crash.suite.js';
import { runWorkflowCrashTests } from './wf-crash.suite.js';

const available = await postgresAvailable();
const tooling = available ? await serverTooling() : undefined;

async function backendOn(url: string, schema: string): Promise<CrashBackend> {
  const options = { schema, logger: recordingLogger() };
  // NOTE: a poll slower than any test, so waitForCompletion can only be woken by NOTIFY.
  const store = await PostgresWorkflowStore.connect(url, { ...options, watchPollInterval: 600_000 });
  const broker = await PostgresBroker.connect(url, options);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".wf_exec (key text NOT NULL, id text NOT NULL, PRIMARY KEY (key, id))`);
  return {
    store,
    broker,
    env: { STEM_BACKEND: 'postgres', STEM_URL: url, STEM_SCHEMA: schema },
    counts: async () =>
      new Map((await pool.query<{ key: string; n: number }>(`SELECT key, count(*)::int AS n FROM "${schema}".wf_exec GROUP BY key`)).rows.map((r) => [r.key, r.n])),
    close: async () => {
      await store.close();
      await broker.close();
      await pool.end();
    },
  };
}

describe.runIf(available)('workflow crash tests on Postgres (worker processes)', () => {
  const schemas: string[] = [];
  const servers: PrivatePostgres[] = [];
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
    for (const server of servers) await server.destroy();
  });

  runWorkflowCrashTests(
    async () => {
      const schema = testSchema();
      schemas.push(schema);
      return backendOn(POSTGRES_URL, schema);
    },
    tooling
      ? async () => {
          const server = await PrivatePostgres.create(tooling);
          servers.push(server);
          return { backend: await backendOn(server.url, 'stem'), server: { kill: () => server.stop('immediate'), restart: () => server.start() } };
        }
      : undefined,
  );
});
