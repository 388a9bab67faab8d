import { redactUrl } from '../../core/utils/redact-url.js';
import { ConfigurationError } from '../../core/errors/configuration.error.js';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/** Quotes an SQL identifier (`"name"`, inner quotes doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Checks a schema name: letters, digits and `_`, at most 40 characters (it also prefixes the
 * LISTEN channel names, which Postgres caps at 63 bytes).
 * @throws ConfigurationError naming the option
 */
export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConfigurationError('schema', `"${schema}" is not usable; use letters, digits and "_" (at most 40, not starting with a digit)`);
  }
  return schema;
}

/** The names of the NOTIFY channels of one schema. */
export interface PostgresChannels {
  /** Payload: the queue that received work. */
  readonly jobs: string;
  /** Payload: a JSON broadcast message. */
  readonly broadcast: string;
  /** Payload: lines of `<task id>\t<status JSON>` (the JSON is empty when too large). */
  readonly results: string;
}

/** Channel names for `schema`. */
export function channelsFor(schema: string): PostgresChannels {
  return { jobs: `${schema}_jobs`, broadcast: `${schema}_broadcast`, results: `${schema}_results` };
}

export { redactUrl };
