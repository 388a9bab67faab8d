import { ConfigurationError } from './errors/configuration.error.js';
import type { RateLimit } from './contracts/rate-limiter.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses `'10/s'`, `'100/m'`, `'1000/h'` (also `'5/2s'`) into tokens per interval.
 * @param option the option the spec comes from, for the error message @default 'rateLimit'
 * @throws ConfigurationError naming the task and option when the string is malformed
 */
export function parseRateLimit(spec: string, taskName = 'unknown', option = 'rateLimit'): RateLimit {
  const match = typeof spec === 'string' ? /^\s*(\d+)\s*\/\s*(\d*)\s*([smh])\s*$/.exec(spec) : null;
  if (!match) {
    throw new ConfigurationError(option, `task "${taskName}" has ${option} "${String(spec)}"; use "<count>/<s|m|h>", e.g. "10/s"`);
  }
  const tokens = Number(match[1]);
  const multiple = match[2] ? Number(match[2]) : 1;
  if (tokens <= 0 || multiple <= 0) {
    throw new ConfigurationError(option, `task "${taskName}" has ${option} "${spec}"; count and interval must be positive`);
  }
  return { tokens, interval: multiple * UNITS[match[3]!]! };
}
