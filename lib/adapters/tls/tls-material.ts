import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { type StemTlsOptions, TLS_OPTION_NAMES, type TlsSettingNames } from './stem-tls.options.js';

const PEM = '-----BEGIN';

/**
 * The PEM bytes a setting stands for: PEM text as it is, bytes as they are, anything else read
 * as a file path.
 *
 * @param name the option or env variable the value came from, for error messages
 * @throws ConfigurationError naming `name` when the file cannot be read or holds no PEM block
 */
export function readPem(value: string | Buffer, name: string): Buffer {
  if (typeof value === 'string' && value.includes(PEM)) return Buffer.from(value);
  let bytes: Buffer;
  if (Buffer.isBuffer(value)) {
    bytes = value;
  } else {
    if (value.trim() === '') throw new ConfigurationError(name, 'is empty; give a PEM file path or the PEM text');
    try {
      bytes = readFileSync(value);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigurationError(name, `cannot read the file "${value}" (${code}); give the path of a readable PEM file, or the PEM text itself`);
    }
  }
  if (!bytes.includes(PEM)) {
    const what = Buffer.isBuffer(value) ? 'the bytes given' : `the file "${value}"`;
    throw new ConfigurationError(name, `${what} hold no PEM block (no "${PEM} ..." line); give a PEM certificate or key`);
  }
  return bytes;
}

/** The settings with every file read: bytes for `ca`, `cert` and `key`. */
export function loadTlsMaterial(tls: StemTlsOptions, names: TlsSettingNames = TLS_OPTION_NAMES): StemTlsOptions {
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const [given, missing] = tls.cert === undefined ? [names.key, names.cert] : [names.cert, names.key];
    throw new ConfigurationError(missing, `${given} is set but ${missing} is not; a client certificate needs both the certificate and its key`);
  }
  return {
    ...(tls.ca !== undefined ? { ca: readPem(tls.ca, names.ca) } : {}),
    ...(tls.cert !== undefined ? { cert: readPem(tls.cert, names.cert) } : {}),
    ...(tls.key !== undefined ? { key: readPem(tls.key, names.key) } : {}),
    ...(tls.allowInsecure ? { allowInsecure: true } : {}),
  };
}

/**
 * The Node `tls.connect` options for the settings (files read); `rejectUnauthorized` is off only
 * with `allowInsecure`.
 *
 * @throws ConfigurationError naming the setting whose file cannot be read
 */
export function nodeTlsOptions(tls: StemTlsOptions = {}, names: TlsSettingNames = TLS_OPTION_NAMES): ConnectionOptions {
  const material = loadTlsMaterial(tls, names);
  return {
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
    rejectUnauthorized: !material.allowInsecure,
  };
}

/**
 * A short stable text standing for the settings, so connections made with different settings are
 * not shared (key material is hashed, never kept in the text).
 */
export function tlsFingerprint(tls: StemTlsOptions | undefined): string {
  if (!tls) return '';
  const part = (value: string | Buffer | undefined) => (value === undefined ? '-' : createHash('sha256').update(value).digest('hex').slice(0, 16));
  return `${part(tls.ca)}/${part(tls.cert)}/${part(tls.key)}/${tls.allowInsecure ? 'insecure' : 'verify'}`;
}
