import { remoteErrorChain } from './errors/remote-error.js';
import type { ErrorMatcher, RetryPolicy } from './task-options.js';

/** Defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY = {
  backoff: 1_000,
  backoffMax: 300_000,
  jitter: true,
  exponential: true,
} as const;

/**
 * Delay before retry number `attempt + 1`: `backoff * 2^attempt` capped at `backoffMax`, minus up
 * to a quarter at random when `jitter` is on.
 *
 * @param attempt the attempt that just failed (0-based)
 */
export function computeBackoff(policy: RetryPolicy | undefined, attempt: number, random: () => number = Math.random): number {
  const base = policy?.backoff ?? DEFAULT_RETRY_POLICY.backoff;
  const max = policy?.backoffMax ?? DEFAULT_RETRY_POLICY.backoffMax;
  const exponential = policy?.exponential ?? DEFAULT_RETRY_POLICY.exponential;
  const raw = exponential ? base * 2 ** Math.min(attempt, 40) : base;
  const capped = Math.min(raw, max);
  const jitter = policy?.jitter ?? DEFAULT_RETRY_POLICY.jitter;
  return Math.max(0, Math.round(jitter ? capped - random() * (capped / 4) : capped));
}

function matches(error: unknown, matcher: ErrorMatcher): boolean {
  // NOTE: an error rebuilt from a thread is not an instance of the original class; match its class names.
  if (typeof matcher !== 'string') return error instanceof matcher || (remoteErrorChain(error)?.includes(matcher.name) ?? false);
  if (!(error instanceof Error)) return false;
  if (error.name === matcher) return true;
  // NOTE: names travel in envelope meta; walk the class chain so `HttpError` still matches a
  // `NotFoundError extends HttpError`, as the class itself would.
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === matcher) return true;
  }
  return false;
}

/** Merges retry policies field by field; later ones win (defaults, then task, then call). */
export function mergeRetryPolicies(...policies: (RetryPolicy | undefined)[]): RetryPolicy | undefined {
  const present = policies.filter((p): p is RetryPolicy => p !== undefined);
  if (present.length === 0) return undefined;
  return Object.assign({}, ...present) as RetryPolicy;
}

/** Whether the retry filters of `policy` allow retrying `error`. The deny list wins. */
export function isRetryableError(policy: RetryPolicy | undefined, error: unknown): boolean {
  if (policy?.dontAutoRetryFor?.some((m) => matches(error, m))) return false;
  const allow = policy?.autoRetryFor;
  if (!allow || allow.length === 0) return true;
  return allow.some((m) => matches(error, m));
}

/** Copy of a policy safe to carry in envelope meta (class matchers become names). */
export function serializeRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const names = (list?: readonly ErrorMatcher[]) => list?.map((m) => (typeof m === 'string' ? m : m.name));
  return {
    ...policy,
    ...(policy.autoRetryFor ? { autoRetryFor: names(policy.autoRetryFor) } : {}),
    ...(policy.dontAutoRetryFor ? { dontAutoRetryFor: names(policy.dontAutoRetryFor) } : {}),
  };
}
