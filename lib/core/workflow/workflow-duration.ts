import { type Duration, parseDuration } from '../beat/duration.js';
import { InvalidWorkflowDurationError } from './errors/invalid-workflow-duration.error.js';

/** Durations given as text, parsed once (runs and waits repeat the same few). */
const parsed = new Map<string, number>();
const PARSED_CACHE = 256;

/**
 * Milliseconds of a workflow duration (`250`, `'200ms'`, `'30s'`, `'5m'`, `'1h'`, `'7d'`), with
 * the same parser as schedules. Throws {@link InvalidWorkflowDurationError} naming `what` for
 * anything else, or a negative value.
 *
 * @example
 * toMillis('1h', 'sleep'); // 3_600_000
 */
export function toMillis(value: Duration, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  let ms = typeof value === 'string' ? parsed.get(value) : undefined;
  if (ms === undefined) {
    ms = parseDuration(value);
    if (typeof value === 'string' && ms !== undefined && parsed.size < PARSED_CACHE) parsed.set(value, ms);
  }
  if (ms === undefined || ms < 0) throw new InvalidWorkflowDurationError(what, value);
  return ms;
}
