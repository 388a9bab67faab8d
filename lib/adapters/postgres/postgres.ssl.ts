import type { ConnectionOptions } from 'node:tls';
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { warnInsecureTls } from '../tls/insecure-tls.warning.js';
import { nodeTlsOptions, tlsFingerprint } from '../tls/tls-material.js';
import type { PostgresConnectOptions, PostgresLogger, PostgresSslMode } from './postgres.options.js';

/** Every `sslmode` understood, libpq's and `pg`'s `no-verify`. */
export const SSL_MODES: readonly PostgresSslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** @throws ConfigurationError naming `sslmode` for a value that is not one */
export function assertSslMode(value: string, where: string): PostgresSslMode {
  if ((SSL_MODES as readonly string[]).includes(value)) return value as PostgresSslMode;
  throw new ConfigurationError('sslmode', `${where} has sslmode "${value}"; use one of ${SSL_MODES.join(', ')}`);
}

const skipHostCheck = (): undefined => undefined;

/**
 * The `ssl` setting of `pg` for the options' `sslmode` and TLS settings: `undefined` leaves pg's
 * default, `false` is plain text, an object holds the `tls.connect` options.
 *
 * @param url the URL (password removed), for messages and the insecure-TLS warning
 * @throws ConfigurationError for `verify-ca` without a CA, or a TLS setting whose file cannot be read
 */
export function postgresSsl(options: Pick<PostgresConnectOptions, 'sslmode' | 'tls'>, url: string, logger?: PostgresLogger): false | ConnectionOptions | undefined {
  const mode = options.sslmode;
  if (mode === undefined) return undefined;
  if (mode === 'disable') return false;
  const tls = nodeTlsOptions(options.tls);
  const insecure = options.tls?.allowInsecure === true;
  if (insecure) warnInsecureTls(url, logger ? (message) => logger.warn(message) : undefined);
  switch (mode) {
    case 'verify-full':
      return tls;
    case 'verify-ca':
      if (!tls.ca && !insecure) {
        throw new ConfigurationError(
          'sslmode',
          `"${url}" asks for sslmode=verify-ca, which checks the server's certificate against a CA you give: set tls.ca, STEM_TLS_CA_CERT or ?sslrootcert=, or use sslmode=verify-full to check it against the system's CAs and the host name`,
        );
      }
      return { ...tls, checkServerIdentity: skipHostCheck };
    case 'require':
      // NOTE: libpq's rule: with a CA, require checks the chain (as verify-ca); without one it only encrypts.
      return tls.ca ? { ...tls, checkServerIdentity: skipHostCheck } : { ...tls, rejectUnauthorized: false };
    default:
      return { ...tls, rejectUnauthorized: false };
  }
}

/** Text standing for the TLS settings in a pool's share key. */
export function sslKey(options: Pick<PostgresConnectOptions, 'sslmode' | 'tls'>): string {
  return options.sslmode === undefined ? '' : `${options.sslmode}:${tlsFingerprint(options.tls)}`;
}
