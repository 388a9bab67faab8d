import type pg from 'pg';

/** A connection URL (`postgres://...`) or a pool the caller owns (never ended by Stem). */
export type PostgresTarget = string | pg.Pool;
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import type { StemTlsOptions } from '../tls/stem-tls.options.js';

/** A sink for the adapter's log lines (migrations, reconnects, swallowed pool errors). */
export interface PostgresLogger {
  info(message: string): void;
  warn(message: string, error?: unknown): void;
}

/** Pool settings passed to `pg.Pool` when the adapter creates the pool itself. */
export type PostgresPoolOptions = Omit<pg.PoolConfig, 'connectionString'>;

/**
 * libpq's `sslmode`: `disable` (plain), `require` (encrypted; the server's certificate is checked
 * against the CA only when one is given), `verify-ca` (checked against the given CA),
 * `verify-full` (checked against the CA, or the system's CAs, and the host name). `prefer` and
 * `allow` encrypt without checking but, unlike libpq, cannot fall back to plain text; `no-verify`
 * (a `pg` spelling) is `require` without checking.
 */
export type PostgresSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';

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
  /**
   * Whether and how connections use TLS (libpq's `sslmode`); the same as `?sslmode=` in the URL
   * (give it in one place). Applies to pools the adapter creates.
   * @default the URL's `?sslmode=`, else pg's default (plain, unless `PGSSLMODE` says otherwise)
   */
  readonly sslmode?: PostgresSslMode;
  /**
   * CA, client certificate and key (PEM file paths, PEM text or bytes) and `allowInsecure`, used
   * when `sslmode` asks for TLS. The URL's `?sslrootcert=`, `?sslcert=` and `?sslkey=` (file
   * paths) win over these.
   * @default the system's trusted CAs, no client certificate
   */
  readonly tls?: StemTlsOptions;
  /**
   * Longest a new connection may take to be established and authenticated, in ms (`pg`
   * `connectionTimeoutMillis`). Applies to pools the adapter creates.
   * @default 10000
   */
  readonly connectTimeout?: number;
  /**
   * Longest wait for the reply to one statement, in ms (`pg` `query_timeout`, client-side, so it
   * also fires on a black-holed path where no server-side `statement_timeout` can). The timed-out
   * connection is discarded, never reused. Applies to pools the adapter creates; `0` turns it off.
   * @default 30000
   */
  readonly queryTimeout?: number;
  /**
   * TCP keepalive: ms of silence before the kernel sends its first probe (`0` turns it off).
   * Applies to pools the adapter creates.
   * @default 10000
   */
  readonly keepAlive?: number;
  /**
   * How often the LISTEN connection is checked with `SELECT 1`, in ms. `0` turns the check off.
   * @default 5000
   */
  readonly healthCheckInterval?: number;
  /**
   * How long that check may go unanswered before the LISTEN connection is declared dead (logged
   * through `logger.warn`) and replaced; a dead path is noticed within
   * `healthCheckInterval + deadConnectionTimeout`, and callers catch up on missed notifications.
   * @default 10000
   */
  readonly deadConnectionTimeout?: number;
}

/** Defaults of the dead-connection settings of {@link PostgresConnectOptions}. */
export const POSTGRES_HEALTH_DEFAULTS = {
  connectTimeout: 10_000,
  queryTimeout: 30_000,
  keepAlive: 10_000,
  healthCheckInterval: 5_000,
  deadConnectionTimeout: 10_000,
} as const;

/** @throws ConfigurationError naming the first dead-connection option that is not a usable number of ms */
export function assertHealthOptions(options: PostgresConnectOptions): void {
  const checks: [keyof PostgresConnectOptions, number | undefined, boolean][] = [
    ['deadConnectionTimeout', options.deadConnectionTimeout, false],
    ['healthCheckInterval', options.healthCheckInterval, true],
    ['queryTimeout', options.queryTimeout, true],
    ['connectTimeout', options.connectTimeout, true],
    ['keepAlive', options.keepAlive, true],
  ];
  for (const [option, value, zeroAllowed] of checks) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
      throw new ConfigurationError(
        option,
        `expected ${zeroAllowed ? 'a number of ms ≥ 0 (0 turns it off)' : 'a positive number of ms'} for the Postgres connection, got ${String(value)}`,
      );
    }
  }
}

/** The pool settings the dead-connection options stand for (explicit `pool` settings win). */
export function healthPoolConfig(options: PostgresConnectOptions): PostgresPoolOptions {
  const connectTimeout = options.connectTimeout ?? POSTGRES_HEALTH_DEFAULTS.connectTimeout;
  const queryTimeout = options.queryTimeout ?? POSTGRES_HEALTH_DEFAULTS.queryTimeout;
  const keepAlive = options.keepAlive ?? POSTGRES_HEALTH_DEFAULTS.keepAlive;
  return {
    ...(connectTimeout > 0 ? { connectionTimeoutMillis: connectTimeout } : {}),
    ...(queryTimeout > 0 ? { query_timeout: queryTimeout } : {}),
    ...(keepAlive > 0 ? { keepAlive: true, keepAliveInitialDelayMillis: keepAlive } : {}),
  };
}

/** The default logger: one line per message on the console. */
export const consoleLogger: PostgresLogger = {
  info: (message) => console.info(`[stem:postgres] ${message}`),
  warn: (message, error) => console.warn(`[stem:postgres] ${message}${error instanceof Error ? `: ${error.message}` : ''}`),
};

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = 'stem';
