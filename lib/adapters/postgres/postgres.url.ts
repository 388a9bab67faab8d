import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { redactUrl } from './postgres.identifiers.js';
import type { PostgresConnectOptions, PostgresTarget } from './postgres.options.js';

/**
 * Reads the Stem settings a Postgres URL carries in its query (`postgres://host/db?schema=jobs`)
 * into the options, and returns the URL without them for `pg`. Every Postgres store's `connect`
 * and {@link migratePostgres} go through it, so a script connecting with the app's URL uses the
 * app's schema. A pool target is returned as it is.
 *
 * @throws ConfigurationError when the URL and the options name different schemas
 */
export function resolvePostgresTarget<T extends PostgresTarget, O extends Pick<PostgresConnectOptions, 'schema'>>(target: T, options: O): { target: T; options: O } {
  if (typeof target !== 'string' || !target.includes('?')) return { target, options };
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    // NOTE: not a URL we can read; pg reports it with its own error on connect.
    return { target, options };
  }
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { target, options };
  parsed.searchParams.delete('schema');
  const rest = parsed.toString().replace(/\?$/, '') as T;
  if (options.schema !== undefined && options.schema !== schema) {
    throw new ConfigurationError('schema', `"${redactUrl(target)}" says schema "${schema}" but the options say "${options.schema}"; set it in one place`);
  }
  return { target: rest, options: { ...options, schema } };
}
