import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { redactUrl } from '../../core/utils/redact-url.js';
import type { RedisConnectionOptions } from './redis.connection.js';

/**
 * Reads the Stem settings a Redis URL carries in its query (`redis://host:6379?prefix=app1`)
 * into the options, and returns the URL without them for the driver. Every Redis store's
 * `connect` goes through it, so a script connecting with the app's URL uses the app's keys.
 *
 * @throws ConfigurationError when the prefix is empty, or the URL and the options name different
 *   prefixes
 */
export function resolveRedisUrl<O extends RedisConnectionOptions>(url: string, options: O): { url: string; options: O } {
  if (!url.includes('?')) return { url, options };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // NOTE: not a URL we can read; ioredis reports it with its own error on connect.
    return { url, options };
  }
  const prefix = parsed.searchParams.get('prefix');
  if (prefix === null) return { url, options };
  parsed.searchParams.delete('prefix');
  const rest = parsed.toString().replace(/\?$/, '');
  if (prefix === '') throw new ConfigurationError('prefix', `"${redactUrl(url)}" has an empty ?prefix=; give it a value (e.g. ?prefix=app1) or leave it out for "stem"`);
  if (options.prefix !== undefined && options.prefix !== prefix) {
    throw new ConfigurationError('prefix', `"${redactUrl(url)}" says prefix "${prefix}" but the options say "${options.prefix}"; set it in one place`);
  }
  return { url: rest, options: { ...options, prefix } };
}
