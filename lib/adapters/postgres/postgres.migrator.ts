import type pg from 'pg';
import { PostgresMigrationError } from './errors/postgres-migration.error.js';
import { MIGRATIONS, type PostgresMigration } from './migrations/index.js';
import { quoteIdent } from './postgres.identifiers.js';
import type { PostgresLogger } from './postgres.options.js';
import { isLockConflict, retryTransient } from './postgres.retry.js';

/** How long a migration that could not take its locks is tried again before its error is thrown. */
const LOCK_RETRY_BUDGET_MS = 30_000;
/** A lock not had within the migration's `lock_timeout`. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The oldest server the schema and queries are written for (`server_version_num`). */
export const MIN_SERVER_VERSION = 120_000;

/** What {@link runMigrations} did. */
export interface MigrationReport {
  /** Names of the migrations applied by this call, in order (empty when up to date). */
  readonly applied: readonly string[];
  /** Schema version afterwards. */
  readonly version: number;
}

/**
 * Throws a {@link PostgresMigrationError} when `serverVersionNum` (as in `SHOW
 * server_version_num`) is older than Stem supports.
 */
export function assertServerVersion(serverVersionNum: number, display = String(serverVersionNum)): void {
  if (serverVersionNum < MIN_SERVER_VERSION) {
    throw new PostgresMigrationError(`Postgres ${display} is too old for Stem; it needs Postgres 12 or newer. Upgrade the server or use another adapter.`);
  }
}

/**
 * Brings `schema` up to the latest version: takes `pg_advisory_lock` (so concurrent processes
 * wait for each other instead of racing), creates the schema and its version table when missing,
 * then applies each pending migration in its own transaction, logging one line per migration.
 * A migration that could not take its locks in time (its `lock_timeout`) or lost a deadlock is
 * rolled back and tried again for up to 30 s, with a warning each time. Running it again is a no-op.
 *
 * @throws PostgresMigrationError when the server is too old, the role lacks a privilege, or the
 *   schema was migrated by a newer release
 */
export async function runMigrations(
  client: pg.ClientBase,
  schema: string,
  logger: PostgresLogger,
  migrations: readonly PostgresMigration[] = MIGRATIONS,
): Promise<MigrationReport> {
  const { rows: info } = await client.query<{ num: string; version: string; role: string; db: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
            current_user AS role, current_database() AS db`,
  );
  const { num, version, role, db } = info[0]!;
  assertServerVersion(Number(num), version);

  const s = quoteIdent(schema);
  const lockKey = `stem:migrate:${schema}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
  try {
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) {
      await privileged(
        () => client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`),
        () =>
          `Role "${role}" may not create schema "${schema}" in database "${db}". Create it as an owner ` +
          `(CREATE SCHEMA ${s} AUTHORIZATION ${quoteIdent(role)};) or grant the right (GRANT CREATE ON DATABASE ${quoteIdent(db)} TO ${quoteIdent(role)};).`,
      );
    }
    await privileged(
      () => client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`),
      () => grantHint(role, schema),
    );
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.migrations`);
    const current = rows[0]?.v ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new PostgresMigrationError(
        `Schema "${schema}" is at version ${current}, newer than this release of nestjs-stem knows (${latest}). Upgrade nestjs-stem, or use another schema.`,
      );
    }
    const applied: string[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      const started = Date.now();
      const lockConflict = (error: unknown) => {
        if (!isLockConflict(error) && (error as { code?: string }).code !== LOCK_NOT_AVAILABLE) return false;
        logger.warn(
          `Migrating schema "${schema}": ${migration.name} could not take its locks (${(error as Error).message}); it was rolled back and is tried again until 30 s have passed`,
        );
        return true;
      };
      await retryTransient(() => applyOne(client, s, migration, () => grantHint(role, schema)), LOCK_RETRY_BUDGET_MS, lockConflict);
      applied.push(migration.name);
      logger.info(`Migrated schema "${schema}": applied ${migration.name} (${Date.now() - started} ms)`);
    }
    return { applied, version: Math.max(current, latest) };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch(() => undefined);
  }
}

/** Applies one migration in its own transaction and records it; rolls back on any error. */
async function applyOne(client: pg.ClientBase, s: string, migration: PostgresMigration, hint: () => string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL search_path TO ${s}`);
    await privileged(() => client.query(migration.sql), hint);
    await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function grantHint(role: string, schema: string): string {
  return `Role "${role}" may not create tables in schema "${schema}". Run the migrations as the schema owner, or GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)};`;
}

async function privileged<T>(run: () => Promise<T>, message: () => string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if ((error as { code?: string }).code === '42501') throw new PostgresMigrationError(message(), { cause: error });
    throw error;
  }
}
