import { timingSafeEqual } from 'node:crypto';
import type { DashboardGuard } from './dashboard.options.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A guard asking for HTTP basic authentication (use it over HTTPS). Browsers then prompt for the
 * user and password; the user name is recorded in the audit list.
 *
 * @example
 * createDashboardHandler(sources, { guards: [basicAuthGuard('ops', process.env.DASHBOARD_PASSWORD!)] });
 */
export function basicAuthGuard(user: string, password: string): DashboardGuard {
  if (!user || !password) throw new Error('basicAuthGuard needs a user name and a password');
  const guard: DashboardGuard = (req) => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const at = decoded.indexOf(':');
    if (at < 0) return false;
    return same(decoded.slice(0, at), user) && same(decoded.slice(at + 1), password) ? user : false;
  };
  return Object.assign(guard, { challenge: 'Basic realm="Stem dashboard", charset="UTF-8"' });
}
