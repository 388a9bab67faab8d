import { ConfigurationError } from '../../core/errors/configuration.error.js';
import type { StemTlsOptions } from '../tls/stem-tls.options.js';
import { readPem } from '../tls/tls-material.js';
import { redactUrl } from './postgres.identifiers.js';
import type { PostgresConnectOptions, PostgresSslMode, PostgresTarget } from './postgres.options.js';
import { assertSslMode } from './postgres.ssl.js';

/** The URL settings read here, and the TLS file each libpq path parameter fills. */
const TLS_FILES = { sslrootcert: 'ca', sslcert: 'cert', sslkey: 'key' } as const;
const READ = ['schema', 'sslmode', 'ssl', 'uselibpqcompat', ...Object.keys(TLS_FILES)];

type UrlOptions = Pick<PostgresConnectOptions, 'schema' | 'sslmode' | 'tls'>;

/** `?sslmode=`, or the older `?ssl=true|false|no-verify` when there is none. */
function sslModeOf(params: URLSearchParams, url: string): PostgresSslMode | undefined {
  const mode = params.get('sslmode');
  if (mode !== null) return assertSslMode(mode, `"${url}"`);
  const ssl = params.get('ssl');
  if (ssl === null) return undefined;
  if (ssl === 'true' || ssl === '1') return 'verify-full';
  if (ssl === 'false' || ssl === '0') return 'disable';
  if (ssl === 'no-verify') return 'no-verify';
  throw new ConfigurationError('ssl', `"${url}" has ssl=${ssl}; use sslmode=disable|require|verify-ca|verify-full instead`);
}

/**
 * Reads the Stem settings a Postgres URL carries in its query (`postgres://host/db?schema=jobs`)
 * into the options, and returns the URL without them for `pg`. Every Postgres store's `connect`
 * and {@link migratePostgres} go through it, so a script connecting with the app's URL uses the
 * app's schema. TLS settings are read here too: `?sslmode=` (libpq's values; `?ssl=true` is
 * `verify-full`) and the files of `?sslrootcert=`, `?sslcert=` and `?sslkey=` (read now, winning
 * over the `tls` option). A pool target is returned as it is.
 *
 * @throws ConfigurationError when the URL and the options name different schemas or sslmodes, the
 *   sslmode is not one, or a TLS file cannot be read
 */
export function resolvePostgresTarget<T extends PostgresTarget, O extends UrlOptions>(target: T, options: O): { target: T; options: O & UrlOptions } {
  if (typeof target !== 'string' || !target.includes('?')) return { target, options };
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    // NOTE: not a URL we can read; pg reports it with its own error on connect.
    return { target, options };
  }
  const params = parsed.searchParams;
  if (!READ.some((name) => params.has(name))) return { target, options };
  const shown = redactUrl(target);
  const schema = params.get('schema');
  if (schema !== null && options.schema !== undefined && options.schema !== schema) {
    throw new ConfigurationError('schema', `"${shown}" says schema "${schema}" but the options say "${options.schema}"; set it in one place`);
  }
  const sslmode = sslModeOf(params, shown);
  if (sslmode !== undefined && options.sslmode !== undefined && options.sslmode !== sslmode) {
    throw new ConfigurationError('sslmode', `"${shown}" says sslmode "${sslmode}" but the options say "${options.sslmode}"; set it in one place`);
  }
  let tls: StemTlsOptions | undefined = options.tls;
  for (const [param, field] of Object.entries(TLS_FILES)) {
    const path = params.get(param);
    // NOTE: libpq's sslrootcert=system means the system's CAs, which is what no CA means here.
    if (path === null || (param === 'sslrootcert' && path === 'system')) continue;
    tls = { ...tls, [field]: readPem(path, `?${param}= of "${shown}"`) };
  }
  for (const name of READ) params.delete(name);
  const rest = parsed.toString().replace(/\?$/, '') as T;
  return {
    target: rest,
    options: { ...options, ...(schema !== null ? { schema } : {}), ...(sslmode !== undefined ? { sslmode } : {}), ...(tls ? { tls } : {}) },
  };
}
