import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the dashboard reads (its forms are small). */
const MAX_BODY_BYTES = 64 * 1024;

/** Security headers on every answer: no framing, no sniffing, scripts and styles only from the dashboard itself. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Writes a complete answer. */
export function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Answers with JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

/** Redirects a form post back to a page (303: the browser follows with a GET). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': 0, ...headers });
  res.end();
}

/**
 * `back` when it is a path of this dashboard (`/workers?queue=a`), else `undefined`. It is put
 * after the dashboard's base path (which may be empty) in a `Location` header, so only text that
 * a browser still reads as a path of this app may pass: printable ASCII only (browsers drop tabs
 * and newlines before parsing), no `//host` and no backslash in the path (browsers read `\` as
 * `/`), no percent-encoded slash, backslash, dot or control character in the path, and no `.` or
 * `..` segment that would climb out of the base path.
 */
export function safeBackPath(back: string | undefined): string | undefined {
  if (!back || back.length > 2_000 || !/^\/[\x21-\x7e]*$/.test(back)) return undefined;
  const path = back.split(/[?#]/, 1)[0]!;
  if (path.startsWith('//') || path.includes('\\')) return undefined;
  if (/%(2f|5c|2e|[01][0-9a-f]|7f)/i.test(path)) return undefined;
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return undefined;
  return back;
}

/** Whether the client asked for JSON rather than a page. */
export function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json') || (req.headers['content-type'] ?? '').includes('application/json');
}

/**
 * The request's form or JSON fields. A framework may have parsed the body already (Express's
 * body parsers set `req.body`); otherwise the stream is read here.
 */
export async function readFields(req: IncomingMessage): Promise<Record<string, string>> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) return stringFields(parsed as Record<string, unknown>);
  let text: string;
  if (typeof parsed === 'string') text = parsed;
  else if (Buffer.isBuffer(parsed)) text = parsed.toString('utf8');
  else if (req.readableEnded) text = '';
  else text = await readText(req);
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    const value = text ? (JSON.parse(text) as unknown) : {};
    return value && typeof value === 'object' ? stringFields(value as Record<string, unknown>) : {};
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function stringFields(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the request body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `30m`, `1h`, `2d`, epoch ms or an ISO date into epoch ms; `undefined` for empty text. */
export function parseSince(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const ago = /^(\d+)\s*(s|m|min|h|d)$/.exec(text);
  if (ago) return now - Number(ago[1]) * { s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's'];
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) throw new RangeError(`"${text}" is not a time; use 30m, 1h, 2d, an ISO date or epoch ms`);
  return date;
}
