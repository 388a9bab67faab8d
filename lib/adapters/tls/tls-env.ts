import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { type StemTlsOptions, TLS_ENV_NAMES } from './stem-tls.options.js';
import { loadTlsMaterial } from './tls-material.js';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/**
 * The TLS settings of the environment: `STEM_TLS_CA_CERT`, `STEM_TLS_CLIENT_CERT`,
 * `STEM_TLS_CLIENT_KEY` (each a PEM file path or the PEM text, read here) and
 * `STEM_TLS_ALLOW_INSECURE` (`true`/`1`/`yes` skips verifying the server's certificate).
 * `undefined` when none is set.
 *
 * @throws ConfigurationError naming the variable whose file cannot be read or whose value is not understood
 * @example
 * const tls = tlsOptionsFromEnv(process.env); // { ca: <Buffer ...> } with STEM_TLS_CA_CERT=/etc/stem/ca.pem
 */
export function tlsOptionsFromEnv(env: NodeJS.ProcessEnv): StemTlsOptions | undefined {
  const ca = env.STEM_TLS_CA_CERT || undefined;
  const cert = env.STEM_TLS_CLIENT_CERT || undefined;
  const key = env.STEM_TLS_CLIENT_KEY || undefined;
  const insecure = env.STEM_TLS_ALLOW_INSECURE?.trim().toLowerCase();
  if (insecure !== undefined && !TRUE.has(insecure) && !FALSE.has(insecure)) {
    throw new ConfigurationError('STEM_TLS_ALLOW_INSECURE', `expected true or false, got "${env.STEM_TLS_ALLOW_INSECURE}"`);
  }
  const allowInsecure = insecure !== undefined && TRUE.has(insecure);
  if (!ca && !cert && !key && !allowInsecure) return undefined;
  return loadTlsMaterial({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(allowInsecure ? { allowInsecure } : {}) }, TLS_ENV_NAMES);
}

/**
 * The TLS settings connections use: each setting of `options` wins, the environment fills the
 * rest; `false` ignores the environment (no settings).
 *
 * @throws ConfigurationError naming the variable whose file cannot be read
 */
export function resolveTlsOptions(options: StemTlsOptions | false | undefined, env: NodeJS.ProcessEnv): StemTlsOptions | undefined {
  if (options === false) return undefined;
  const fromEnv = tlsOptionsFromEnv(env);
  if (!options) return fromEnv;
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as StemTlsOptions;
  return { ...fromEnv, ...given };
}
