import { ConfigurationError } from './errors/configuration.error.js';
import type { RateLimit } from './contracts/rate-limiter.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * The limiter key of a group budget (`groupRateLimit`): `group:<group>`. No task key starts with
 * `group:` (see {@link taskRateLimitKey}), so no task name shares a bucket with a group.
 */
export function groupRateLimitKey(group: string): string {
  return `group:${group}`;
}

/**
 * The limiter key of a task's `rateLimit` for one tenant: `<task>:<tenant>`, one bucket per task
 * and tenant. So that no two (task, tenant) pairs and no group share a bucket, `%` is written
 * `%25` in both parts and `:` is written `%3A` in the tenant, and a task name that would start
 * the key with `group:` (the task `group`, or one starting with `group:`) has its `g` written
 * `%67`. Every other task name and tenant keeps the key it always had, so existing buckets (and
 * the budget they have left) carry across a deploy.
 *
 * @example
 * taskRateLimitKey('email.send', 'acme'); // 'email.send:acme'
 * taskRateLimitKey('group', 'acme');      // '%67roup:acme' (not the group key 'group:acme')
 */
export function taskRateLimitKey(task: string, tenant: string): string {
  let name = task.replaceAll('%', '%25');
  if (name === 'group' || name.startsWith('group:')) name = `%67${name.slice(1)}`;
  return `${name}:${tenant.replaceAll('%', '%25').replaceAll(':', '%3A')}`;
}

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
