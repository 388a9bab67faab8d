import { type Duration, parseDuration } from '../beat/duration.js';
import { InvalidWorkflowDurationError } from './errors/invalid-workflow-duration.error.js';

/**
 * Milliseconds of a workflow duration (`250`, `'200ms'`, `'30s'`, `'5m'`, `'1h'`, `'7d'`), with
 * the same parser as schedules. Throws {@link InvalidWorkflowDurationError} naming `what` for
 * anything else, or a negative value.
 *
 * @example
 * toMillis('1h', 'sleep'); // 3_600_000
 */
export function toMillis(value: Duration, what: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0) throw new InvalidWorkflowDurationError(what, value);
  return ms;
}
