import type pg from 'pg';

/** A sink for the adapter's log lines (migrations, reconnects, swallowed pool errors). */
export interface PostgresLogger {
  info(message: string): void;
  warn(message: string, error?: unknown): void;
}

/** Pool settings passed to `pg.Pool` when the adapter creates the pool itself. */
export type PostgresPoolOptions = Omit<pg.PoolConfig, 'connectionString'>;

/** Options shared by every Postgres adapter's `connect`. */
export interface PostgresConnectOptions {
  /**
   * Schema holding Stem's tables; created by the migrations. Letters, digits and `_` only.
   * @default 'stem'
   */
  readonly schema?: string;
  /**
   * Settings for the `pg.Pool` the adapter creates. Adapters connected with the same URL, schema
   * and pool settings share one pool (and one LISTEN connection).
   * @default { max: 10 }
   */
  readonly pool?: PostgresPoolOptions;
  /**
   * Run pending migrations on connect (under an advisory lock, so concurrent processes are safe).
   * Turn off when a deploy step runs {@link migratePostgres} instead.
   * @default true
   */
  readonly migrate?: boolean;
  /** Where log lines go. @default console, prefixed `[stem:postgres]` */
  readonly logger?: PostgresLogger;
}

/** The default logger: one line per message on the console. */
export const consoleLogger: PostgresLogger = {
  info: (message) => console.info(`[stem:postgres] ${message}`),
  warn: (message, error) =>
    console.warn(`[stem:postgres] ${message}${error instanceof Error ? `: ${error.message}` : ''}`),
};

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = 'stem';
