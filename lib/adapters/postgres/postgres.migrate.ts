import pg from 'pg';
import type { StemTlsOptions } from '../tls/stem-tls.options.js';
import { connectionError } from './postgres.connection.js';
import { assertSchemaName, redactUrl } from './postgres.identifiers.js';
import { type MigrationReport, runMigrations } from './postgres.migrator.js';
import type { PostgresTarget } from './postgres.connection.js';
import { consoleLogger, DEFAULT_SCHEMA, type PostgresLogger, type PostgresSslMode } from './postgres.options.js';
import { postgresSsl } from './postgres.ssl.js';
import { resolvePostgresTarget } from './postgres.url.js';

/**
 * Creates or upgrades Stem's schema and returns what was applied. Safe to run from several
 * processes at once (they wait on an advisory lock) and to run again (a no-op). Use it from a
 * deploy step and connect the adapters with `migrate: false`, or let `connect` do it.
 *
 * @example
 * await migratePostgres(process.env.DATABASE_URL!, { schema: 'stem' });
 * @throws PostgresConnectionError when the server cannot be reached
 * @throws PostgresMigrationError when the server is too old or the role lacks a privilege
 */
export async function migratePostgres(
  given: PostgresTarget,
  givenOptions: { schema?: string; logger?: PostgresLogger; sslmode?: PostgresSslMode; tls?: StemTlsOptions } = {},
): Promise<MigrationReport> {
  const { target, options } = resolvePostgresTarget(given, givenOptions);
  const schema = assertSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const logger = options.logger ?? consoleLogger;
  const ssl = typeof target === 'string' ? postgresSsl(options, redactUrl(target), logger) : undefined;
  const client = typeof target === 'string' ? new pg.Client({ connectionString: target, ...(ssl !== undefined ? { ssl } : {}) }) : undefined;
  let pooled: pg.PoolClient | undefined;
  try {
    if (client) {
      client.on('error', () => undefined);
      await client.connect();
    } else {
      pooled = await (target as pg.Pool).connect();
    }
  } catch (error) {
    await client?.end().catch(() => undefined);
    const url = typeof target === 'string' ? redactUrl(target) : 'the given pool';
    throw connectionError(url, error);
  }
  try {
    return await runMigrations((client ?? pooled)!, schema, logger);
  } finally {
    if (client) await client.end().catch(() => undefined);
    pooled?.release();
  }
}
