const warned = new Set<string>();

/** The server a URL points at (`rediss://h:6380`), so each server is warned about once. */
function serverOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return url;
  }
}

/**
 * Logs, once per server and process, that TLS connections to it do not verify the server's
 * certificate (`allowInsecure` / `STEM_TLS_ALLOW_INSECURE`).
 *
 * @param url the server's URL (password removed)
 * @param warn where the line goes @default console.warn
 */
export function warnInsecureTls(url: string, warn: (message: string) => void = (message) => console.warn(message)): void {
  const server = serverOf(url);
  if (warned.has(server)) return;
  warned.add(server);
  warn(
    `[stem:tls] WARNING: TLS certificate verification is OFF for ${server} (tls.allowInsecure / STEM_TLS_ALLOW_INSECURE). ` +
      'The connection is encrypted, but anyone on the network path can pose as the server and read or change tasks and results. ' +
      'Use this for local testing only; in production give the CA with tls.ca or STEM_TLS_CA_CERT.',
  );
}
