/** OpenSSL verification results meaning "the server's certificate does not chain to a CA we trust". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** Alerts a server sends when it wants a client certificate it did not get, or rejects the one it got. */
const CLIENT_CERT_REJECTED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
]);
/** What a TLS client reads when the server answers in plain text. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'EPROTO']);

const CA_HELP =
  'Give the CA certificate that signed it with the tls.ca option (StemModule.forRoot, createStemAdapters or connect) or the STEM_TLS_CA_CERT environment variable (a PEM file path or the PEM text); ' +
  'STEM_TLS_ALLOW_INSECURE=true skips verification (local testing only)';
const CLIENT_HELP = 'Give a certificate the server trusts with the tls.cert and tls.key options or the STEM_TLS_CLIENT_CERT and STEM_TLS_CLIENT_KEY environment variables';

function codeAndMessage(error: unknown): { code: string; message: string } {
  let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  // NOTE: drivers wrap socket errors; the TLS code is on the innermost one.
  for (let depth = 0; current && depth < 5; depth++) {
    const code = typeof current.code === 'string' ? current.code : '';
    const message = typeof current.message === 'string' ? current.message : '';
    if (code && code !== 'ECONNRESET') return { code, message };
    if (/certificate|ssl|tls/i.test(message)) return { code, message };
    current = current.cause as typeof current;
  }
  const e = error as { code?: unknown; message?: unknown } | undefined;
  return { code: typeof e?.code === 'string' ? e.code : '', message: typeof e?.message === 'string' ? e.message : String(error) };
}

/**
 * What to do about a failed connection when TLS is the cause (an untrusted or expired server
 * certificate, a name mismatch, a missing or rejected client certificate, a server not speaking
 * TLS), naming the option and the environment variable to set; `undefined` for other failures.
 *
 * @param host the host the client connected to, for the name-mismatch hint
 */
export function tlsFailureHint(error: unknown, host?: string): string | undefined {
  const { code, message } = codeAndMessage(error);
  if (UNTRUSTED.has(code)) return `The server's TLS certificate is not signed by a CA this client trusts (${message}). ${CA_HELP}.`;
  if (EXPIRED.has(code)) return `The server's TLS certificate is not valid now (${message}); renew it on the server, or check this machine's clock.`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `The server's TLS certificate does not name the host ${host ? `"${host}" ` : ''}connected to (${message}). Connect with a host name the certificate lists, or reissue the certificate with it.`;
  }
  if (CLIENT_CERT_REJECTED.has(code) || /requires a valid client certificate|certificate required/i.test(message)) {
    return `The server requires a client certificate it trusts and did not get one. ${CLIENT_HELP}.`;
  }
  if (/pg_hba\.conf.*no encryption/i.test(message)) {
    return 'The server accepts only encrypted connections from this host: add ?sslmode=verify-full to the URL (or set the sslmode option), with the CA in tls.ca or STEM_TLS_CA_CERT.';
  }
  if (/does not support SSL/i.test(message)) return 'The server has TLS (SSL) turned off: connect without TLS (sslmode=disable), or turn ssl on in the server.';
  if (NOT_TLS.has(code) && /ssl|tls|wrong version|packet length/i.test(`${code} ${message}`)) {
    return `The server did not answer in TLS (${code}); is this its TLS port? Use a plain URL for a plain port.`;
  }
  return undefined;
}
