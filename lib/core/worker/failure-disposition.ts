import type { Envelope } from '../envelope.js';
import { InvalidTaskArgsError } from '../errors/invalid-task-args.error.js';
import { TaskRetryRequest } from '../errors/task-retry-request.error.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { isRetryableError, mergeRetryPolicies } from '../retry-policy.js';
import { StemMeta } from '../envelope.js';
import type { TaskHandler } from '../task-handler.js';
import type { RetryPolicy, TaskDefaults } from '../task-options.js';

/** What a failed attempt leads to: another attempt under the same id, or a dead letter with `reason`. */
export type FailureDisposition =
  | { readonly retry: true; /** Delay the handler asked for with `ctx.retry({ countdown })`. */ readonly countdown?: number }
  | { readonly retry: false; readonly reason: 'invalid-args' | 'unrecoverable' | 'max-retries-exhausted' | 'not-retryable' };

/** The retry policy of one task: per call (envelope meta) > `@Task` > worker defaults, field by field. */
export function retryPolicyOf(defaults: TaskDefaults, handler: TaskHandler, envelope: Envelope): RetryPolicy | undefined {
  return mergeRetryPolicies(defaults.retryPolicy, handler.options?.retryPolicy, envelope.meta[StemMeta.retryPolicy] as RetryPolicy | undefined);
}

/**
 * Whether a failed attempt is retried: invalid args and {@link UnrecoverableError} never are; a
 * `ctx.retry()` request or an error the policy allows is, while attempts remain.
 */
export function failureDisposition(error: unknown, attempt: number, maxRetries: number, policy: RetryPolicy | undefined): FailureDisposition {
  if (error instanceof InvalidTaskArgsError) return { retry: false, reason: 'invalid-args' };
  if (error instanceof UnrecoverableError) return { retry: false, reason: 'unrecoverable' };
  const requested = error instanceof TaskRetryRequest;
  const allowed = requested || isRetryableError(policy, error);
  if (allowed && attempt < maxRetries) return requested && error.countdown !== undefined ? { retry: true, countdown: error.countdown } : { retry: true };
  return { retry: false, reason: allowed ? 'max-retries-exhausted' : 'not-retryable' };
}
