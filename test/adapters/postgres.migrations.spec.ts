import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migratePostgres, PostgresLockStore, PostgresMigrationError, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { MIGRATIONS } from '../../lib/adapters/postgres/migrations/index.js';
import { assertServerVersion, runMigrations } from '../../lib/adapters/postgres/postgres.migrator.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { adminQuery, dropSchema, eventually, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();

describe('Postgres server version check', () => {
  it('refuses servers older than 12 with a message saying what to do', () => {
    expect(() => assertServerVersion(110_022, '11.22')).toThrow(/Postgres 11\.22 is too old.*12 or newer/);
    expect(() => assertServerVersion(120_000)).not.toThrow();
  });
});

describe.runIf(available)('Postgres migrations', () => {
  const schemas: string[] = [];
  const fresh = () => {
    const schema = testSchema();
    schemas.push(schema);
    return schema;
  };
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
    await adminQuery('DROP ROLE IF EXISTS stem_test_limited').catch(() => undefined);
  });

  it('creates the schema with a log line per migration; running again is a no-op', async () => {
    const schema = fresh();
    const logger = recordingLogger();
    const first = await migratePostgres(POSTGRES_URL, { schema, logger });
    expect(first.applied).toEqual([
      '0001_init',
      '0002_schedules',
      '0003_canvas_groups',
      '0004_lease_floor_dead_letter_sweep',
      '0005_chord_claim_deadline',
      '0006_control_plane',
      '0007_workflows',
      '0008_operations_queries',
      '0009_workflow_hot_updates',
    ]);
    expect(logger.lines).toEqual(
      [
        '0001_init',
        '0002_schedules',
        '0003_canvas_groups',
        '0004_lease_floor_dead_letter_sweep',
        '0005_chord_claim_deadline',
        '0006_control_plane',
        '0007_workflows',
        '0008_operations_queries',
        '0009_workflow_hot_updates',
      ].map((name) => expect.stringMatching(new RegExp(`Migrated schema "${schema}": applied ${name}`))),
    );
    const { rows } = await adminQuery<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema]);
    expect(rows.map((r) => r.table_name)).toEqual([
      'canvas_groups',
      'control_queue_pauses',
      'control_revokes',
      'control_workers',
      'dead_letters',
      'jobs',
      'locks',
      'migrations',
      'queues',
      'rate_limits',
      'result_counts',
      'result_throughput',
      'result_watches',
      'results',
      'schedules',
      'workflow_runs',
      'workflow_signals',
      'workflow_steps',
      'workflow_watchers',
    ]);
    const again = await migratePostgres(POSTGRES_URL, { schema, logger });
    expect(again).toEqual({ applied: [], version: 9 });
    expect(logger.lines).toHaveLength(9);
  });

  it('upgrades a version 8 schema holding runs to 9 once a transaction that held its checkpoints table ends, warning while it waits', async () => {
    const schema = fresh();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    const blocker = new pg.Client({ connectionString: POSTGRES_URL });
    await Promise.all([client.connect(), blocker.connect()]);
    try {
      expect(await runMigrations(client, schema, recordingLogger(), MIGRATIONS.slice(0, 8))).toMatchObject({ version: 8 });
      await client.query(
        `INSERT INTO "${schema}".workflow_runs (id, workflow, status, params, created_at, updated_at, metadata) VALUES ('run-1', 'w', 'running', '{}', 1, 1, '{}')`,
      );
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${schema}".workflow_steps IN ACCESS SHARE MODE`);
      const logger = recordingLogger();
      const migrated = runMigrations(client, schema, logger);
      expect(await eventually(() => logger.lines.some((line) => line.includes('0009_workflow_hot_updates could not take its locks')), 15_000)).toBe(true);
      await blocker.query('COMMIT');
      expect(await migrated).toEqual({ applied: ['0009_workflow_hot_updates'], version: 9 });
      const { rows } = await client.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename IN ('workflow_runs', 'workflow_steps') ORDER BY indexname`,
        [schema],
      );
      expect(rows.map((r) => r.indexname)).toEqual(
        [
          'workflow_runs_expiry_idx',
          'workflow_runs_due_idx',
          'workflow_runs_list_idx',
          'workflow_runs_parent_idx',
          'workflow_runs_pkey',
          'workflow_runs_running_idx',
          'workflow_runs_workflow_idx',
          'workflow_steps_pkey',
        ].sort(),
      );
      const options = await client.query<{ reloptions: string[] }>(`SELECT reloptions FROM pg_class WHERE oid = $1::regclass`, [`"${schema}".workflow_runs`]);
      expect(options.rows[0]!.reloptions).toEqual(['fillfactor=50']);
      expect((await client.query(`SELECT id FROM "${schema}".workflow_runs`)).rows).toEqual([{ id: 'run-1' }]);
    } finally {
      await blocker.end();
      await client.end();
    }
  }, 30_000);

  it('lets concurrent migrators wait on the advisory lock instead of racing', async () => {
    const schema = fresh();
    const reports = await Promise.all(Array.from({ length: 6 }, () => migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() })));
    expect(reports.filter((r) => r.applied.length === 9)).toHaveLength(1);
    expect(reports.filter((r) => r.applied.length === 0)).toHaveLength(5);
    expect(reports.every((r) => r.version === 9)).toBe(true);
    const { rows } = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".migrations`);
    expect(rows[0]!.n).toBe(9);
  });

  it('migrates on connect when adapters of several kinds start at once', async () => {
    const schema = fresh();
    const logger = recordingLogger();
    const [a, b] = await Promise.all([
      PostgresResultBackend.connect(POSTGRES_URL, { schema, logger, pool: { max: 2 } }),
      PostgresLockStore.connect(POSTGRES_URL, { schema, logger, pool: { max: 3 } }),
    ]);
    expect(logger.lines.filter((l) => l.includes('applied 0001_init'))).toHaveLength(1);
    expect(await b.acquire('k', 'me', 1_000)).toBe(true);
    await a.close();
    await b.close();
  });

  it('refuses a schema written by a newer release', async () => {
    const schema = fresh();
    await migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() });
    await adminQuery(`INSERT INTO "${schema}".migrations (version, name) VALUES (99, '0099_future')`);
    await expect(migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() })).rejects.toThrow(/version 99, newer than this release/);
  });

  it('explains a missing privilege with the GRANT to run', async () => {
    const schema = fresh();
    await adminQuery('DROP ROLE IF EXISTS stem_test_limited');
    await adminQuery('CREATE ROLE stem_test_limited LOGIN');
    const url = new URL(POSTGRES_URL);
    url.username = 'stem_test_limited';
    const error = await migratePostgres(url.toString(), { schema, logger: recordingLogger() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresMigrationError);
    expect((error as Error).message).toMatch(new RegExp(`may not create schema "${schema}".*GRANT CREATE ON DATABASE`));
  });

  it('deletes expired statuses in the sweep', async () => {
    const schema = fresh();
    const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger: recordingLogger(), cleanupInterval: 0 });
    try {
      const id = uniqueName('status');
      await backend.set(id, { state: 'succeeded', attempt: 0 }, { ttl: 50 });
      await backend.set(`${id}-kept`, { state: 'succeeded', attempt: 0 });
      expect(await eventually(async () => (await backend.get(id)) === null, 2_000)).toBe(true);
      expect(await backend.cleanup()).toBe(1);
      const { rows } = await adminQuery<{ id: string }>(`SELECT id FROM "${schema}".results`);
      expect(rows.map((r) => r.id)).toEqual([`${id}-kept`]);
    } finally {
      await backend.close();
    }
  });
});
