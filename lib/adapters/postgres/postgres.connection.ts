import pg from 'pg';
import { tlsFailureHint } from '../tls/tls-failure.js';
import { PostgresConnectionError } from './errors/postgres-connection.error.js';
import { assertSchemaName, channelsFor, type PostgresChannels, quoteIdent, redactUrl } from './postgres.identifiers.js';
import { runMigrations } from './postgres.migrator.js';
import { PostgresNotifier } from './postgres.notifier.js';
import { assertHealthOptions, consoleLogger, DEFAULT_SCHEMA, healthPoolConfig, type PostgresConnectOptions, type PostgresLogger, type PostgresTarget } from './postgres.options.js';
import { postgresSsl, sslKey } from './postgres.ssl.js';
import { resolvePostgresTarget } from './postgres.url.js';

export { isLockConflict, isNotSentError, isTransientError, retryTransient } from './postgres.retry.js';

export type { PostgresTarget } from './postgres.options.js';

/** Everything an adapter needs: a pool, the schema, the LISTEN connection. */
export interface PostgresContext {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The schema, quoted for SQL. */
  readonly s: string;
  readonly channels: PostgresChannels;
  readonly notifier: PostgresNotifier;
  readonly logger: PostgresLogger;
  /** The URL with the password removed. */
  readonly url: string;
  /** Drops this adapter's reference; the last one closes the pool (if Stem created it). */
  release(): Promise<void>;
}

interface Shared {
  readonly pool: pg.Pool;
  readonly notifier: PostgresNotifier;
  readonly ready: Promise<void>;
  readonly owned: boolean;
  refs: number;
}

const shared = new Map<string, Shared>();
const migrated = new WeakMap<pg.Pool, Map<string, Promise<void>>>();

/**
 * Opens (or joins) the pool for `target` + schema: checks the server answers, runs pending
 * migrations once per pool and schema, and attaches the error handlers that keep a dropped
 * connection from killing the process.
 *
 * @throws PostgresConnectionError when the server cannot be reached (URL shown without password)
 * @throws PostgresMigrationError when the schema cannot be created or upgraded
 */
export async function openPostgres(given: PostgresTarget, givenOptions: PostgresConnectOptions = {}): Promise<PostgresContext> {
  const { target, options } = resolvePostgresTarget(given, givenOptions);
  const schema = assertSchemaName(options.schema ?? DEFAULT_SCHEMA);
  assertHealthOptions(options);
  const logger = options.logger ?? consoleLogger;
  const url = typeof target === 'string' ? redactUrl(target) : describePool(target);
  const { connectTimeout, queryTimeout, keepAlive, healthCheckInterval, deadConnectionTimeout } = options;
  const health = { connectTimeout, queryTimeout, keepAlive, healthCheckInterval, deadConnectionTimeout };
  const key = typeof target === 'string' ? `${target}\u0000${schema}\u0000${JSON.stringify(options.pool ?? {})}\u0000${JSON.stringify(health)}\u0000${sslKey(options)}` : undefined;

  let entry = key ? shared.get(key) : undefined;
  if (!entry) {
    const owned = typeof target === 'string';
    const ssl = owned ? postgresSsl(options, url, logger) : undefined;
    const pool =
      typeof target === 'string'
        ? new pg.Pool({ max: 10, ...healthPoolConfig(options), ...(ssl !== undefined ? { ssl } : {}), ...options.pool, connectionString: target })
        : target;
    if (owned || pool.listenerCount('error') === 0) {
      pool.on('error', (error) => logger.warn('An idle Postgres connection failed (it is replaced on next use)', error));
    }
    const notifier = new PostgresNotifier(pool, logger, { url, ...health });
    // NOTE: a failed first connection names the sslmode, which is no longer in the URL pg sees.
    const shown = options.sslmode && owned ? `${url} (sslmode=${options.sslmode})` : url;
    entry = { pool, notifier, owned, refs: 0, ready: prepare(pool, schema, shown, logger, options.migrate ?? true) };
    if (key) shared.set(key, entry);
  }
  entry.refs++;
  const current = entry;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    if (--current.refs > 0) return;
    if (key && shared.get(key) === current) shared.delete(key);
    await current.notifier.close();
    if (current.owned) await current.pool.end().catch(() => undefined);
  };
  try {
    await current.ready;
  } catch (error) {
    await release();
    throw error;
  }
  return { pool: current.pool, schema, s: quoteIdent(schema), channels: channelsFor(schema), notifier: current.notifier, logger, url, release };
}

async function prepare(pool: pg.Pool, schema: string, url: string, logger: PostgresLogger, migrate: boolean): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw connectionError(url, error);
  }
  try {
    if (migrate) await migrateOnce(pool, client, schema, logger);
    else await client.query('SELECT 1');
  } finally {
    client.release();
  }
}

function migrateOnce(pool: pg.Pool, client: pg.ClientBase, schema: string, logger: PostgresLogger): Promise<void> {
  let bySchema = migrated.get(pool);
  if (!bySchema) migrated.set(pool, (bySchema = new Map()));
  let done = bySchema.get(schema);
  if (!done) {
    done = runMigrations(client, schema, logger).then(() => undefined);
    bySchema.set(schema, done);
    done.catch(() => bySchema.delete(schema));
  }
  return done;
}

/** The error of a failed first connection, with what to do when TLS is the cause. */
export function connectionError(url: string, error: unknown): PostgresConnectionError {
  let host: string | undefined;
  try {
    host = new URL(url).hostname || undefined;
  } catch {
    host = undefined;
  }
  const hint = tlsFailureHint(error, host);
  return new PostgresConnectionError(url, describeError(error), { cause: error, ...(hint ? { hint } : {}) });
}

function describePool(pool: pg.Pool): string {
  const o = pool.options;
  if (o.connectionString) return redactUrl(o.connectionString);
  return `postgres://${o.user ?? ''}@${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: { message?: string }[] };
  const message = e.message || e.errors?.map((inner) => inner.message).join('; ') || String(error);
  return e.code ? `${message} (${e.code})` : message;
}
