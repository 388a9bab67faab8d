import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Name of the cookie that binds a browser to its CSRF token. */
export const CSRF_COOKIE = 'stem_dash_csrf';
/** Header (JSON and fetch requests) or form field carrying the CSRF token. */
export const CSRF_HEADER = 'x-stem-csrf';
/** Form field carrying the CSRF token. */
export const CSRF_FIELD = '_csrf';

/** Headers a reverse proxy adds; their presence means the socket address is not the client's. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/** Whether an IP address is on the loopback interface (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Why a request without a guard is refused, or `null` when it may pass: it must come from the
 * loopback interface and through no proxy (a proxy on the same host would make every client
 * look local).
 */
export function loopbackRefusal(req: IncomingMessage): string | null {
  const address = req.socket.remoteAddress;
  if (!isLoopbackAddress(address)) {
    return `This Stem dashboard has no guard, so it answers only requests from this machine (loopback), and this one came from ${address ?? 'an unknown address'}. Configure guards (StemDashboardModule.forRoot({ guards: [...] }) or createDashboardHandler(sources, { guards })) to open it to other clients.`;
  }
  const host = hostnameOf(req.headers.host);
  if (!isLoopbackHostname(host)) {
    // NOTE: a page of another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) would otherwise read this dashboard as its own origin.
    return `This Stem dashboard has no guard, so it answers only requests addressed to this machine by a loopback name (localhost, 127.0.0.1, [::1]), and this one was addressed to "${host}". Configure guards to serve it under other names.`;
  }
  const proxied = PROXY_HEADERS.find((h) => req.headers[h] !== undefined);
  if (proxied) {
    return `This Stem dashboard has no guard, so it answers only direct requests from this machine, and this one came through a proxy (it carries a "${proxied}" header). Configure guards to serve it behind a proxy.`;
  }
  return null;
}

function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0]!.toLowerCase();
}

/** Whether a `Host` name is loopback: `localhost`, `*.localhost`, `127.x.y.z` or `[::1]`. */
export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]';
}

/** Parses the `Cookie` header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (!name) continue;
    const raw = part.slice(at + 1).trim();
    // NOTE: a badly encoded cookie of another app on the same host is kept as it is, not a 500.
    try {
      cookies[name] = decodeURIComponent(raw);
    } catch {
      cookies[name] = raw;
    }
  }
  return cookies;
}

/**
 * Signed double-submit CSRF tokens: each browser gets a random cookie, and its token is an HMAC
 * of that cookie under a server secret. A mutating request must carry the token (header or form
 * field) matching its cookie; another site can neither read the cookie nor forge the HMAC.
 */
export class CsrfTokens {
  private readonly secret: Buffer;

  constructor(secret?: string) {
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  /** A fresh random cookie value. */
  newCookie(): string {
    return randomBytes(18).toString('base64url');
  }

  /** The token that goes with `cookie`. */
  tokenFor(cookie: string): string {
    return createHmac('sha256', this.secret).update(cookie).digest('base64url');
  }

  /** Whether `token` matches `cookie`. */
  verify(cookie: string | undefined, token: string | undefined): boolean {
    if (!cookie || !token) return false;
    const expected = Buffer.from(this.tokenFor(cookie));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
