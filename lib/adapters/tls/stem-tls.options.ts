/**
 * What a TLS connection to Redis (`rediss://`) or Postgres (`sslmode=...`) trusts and presents.
 * Each of `ca`, `cert` and `key` is a PEM file path, the PEM text itself (anything containing
 * `-----BEGIN`), or its bytes. The URL decides whether TLS is used; these settings say with what.
 *
 * @example
 * { ca: '/etc/stem/ca.pem', cert: '/etc/stem/client.pem', key: '/etc/stem/client.key' }
 */
export interface StemTlsOptions {
  /**
   * CA certificate(s) the server's certificate must chain to (env `STEM_TLS_CA_CERT`).
   * @default the system's trusted CAs
   */
  readonly ca?: string | Buffer;
  /** Client certificate, for servers that require one (env `STEM_TLS_CLIENT_CERT`); needs `key`. */
  readonly cert?: string | Buffer;
  /** Private key of the client certificate (env `STEM_TLS_CLIENT_KEY`); needs `cert`. */
  readonly key?: string | Buffer;
  /**
   * Skip verifying the server's certificate (env `STEM_TLS_ALLOW_INSECURE=true`). The traffic is
   * still encrypted, but anyone on the path can pose as the server; a warning is logged once per
   * server. For local testing only.
   * @default false
   */
  readonly allowInsecure?: boolean;
}

/** The names a setting of {@link StemTlsOptions} is known by in error messages. */
export interface TlsSettingNames {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Names of the settings given in code. */
export const TLS_OPTION_NAMES: TlsSettingNames = { ca: 'tls.ca', cert: 'tls.cert', key: 'tls.key' };

/** Names of the settings given through the environment. */
export const TLS_ENV_NAMES: TlsSettingNames = { ca: 'STEM_TLS_CA_CERT', cert: 'STEM_TLS_CLIENT_CERT', key: 'STEM_TLS_CLIENT_KEY' };
