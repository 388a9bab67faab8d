import type { EncoderRef } from './encoding/task-payload-encoder.js';
import type { Envelope } from './envelope.js';

/** Matches an error for retry filters: a class, or an error name such as `'TypeError'`. */
export type ErrorMatcher = string | (abstract new (...args: never[]) => Error);

/** How failed attempts are retried. */
export interface RetryPolicy {
  /** Base delay in ms before the first retry. @default 1000 */
  readonly backoff?: number;
  /** Upper bound for the exponential delay in ms. @default 300000 (5 min) */
  readonly backoffMax?: number;
  /** Subtract up to a quarter of the delay at random, so retries spread out. @default true */
  readonly jitter?: boolean;
  /** `false` keeps the delay at `backoff` for every retry instead of doubling. @default true */
  readonly exponential?: boolean;
  /** Retry only errors matching one of these (empty or unset: every error). */
  readonly autoRetryFor?: readonly ErrorMatcher[];
  /** Never retry errors matching one of these; wins over `autoRetryFor`. */
  readonly dontAutoRetryFor?: readonly ErrorMatcher[];
}

/** What a {@link TaskOptions.groupRateKey} function gets to pick the group of one delivery. */
export interface GroupRateKeyInput {
  readonly envelope: Envelope;
  /** The decoded (and validated) args the handler would be called with. */
  readonly args: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The group a delivery counts against: a fixed key, or a function of the delivery. A function
 * returning `undefined` or `''` falls back to the `groupRateKeyHeader` header.
 */
export type GroupRateKey = string | ((input: GroupRateKeyInput) => string | undefined);

/**
 * What the worker does with a task when its rate limiter fails (store unreachable or erroring):
 * `failOpen` runs the task unlimited and records meta `stem.rate_limiter.degraded` on its status;
 * `failClosed` delays it (without using an attempt) until the limiter answers again.
 */
export type RateLimiterFailureMode = 'failOpen' | 'failClosed';

/**
 * Options of a task. Precedence: per-call enqueue options > `@Task` options > module defaults.
 */
export interface TaskOptions {
  /** Queue the task is published to. @default 'default' */
  readonly queue?: string;
  /** Retries after the first attempt (so `3` means up to 4 attempts). @default 0 */
  readonly maxRetries?: number;
  /** Backoff and retry filters. */
  readonly retryPolicy?: RetryPolicy;
  /** Lease length per delivery in ms; the worker renews it while the task runs. @default 30000 */
  readonly visibilityTimeout?: number;
  /** 0–9, higher runs first. @default 0 */
  readonly priority?: number;
  /** Ms after enqueue after which the task is no longer run (cancelled, reason `expired`). */
  readonly expires?: number;
  /** Ms after which `ctx.signal` aborts; the task should stop cooperatively. */
  readonly softTimeLimit?: number;
  /** Ms after which the attempt fails with `TimeLimitExceededError` and its slot is freed. */
  readonly hardTimeLimit?: number;
  /** Do not store the return value (the status still records success). @default false */
  readonly ignoreResult?: boolean;
  /** Rate limit such as `'10/s'`, `'100/m'`, `'1000/h'`; denied tasks are delayed, not failed. */
  readonly rateLimit?: string;
  /**
   * Rate limit shared by every task with the same group key (`'5/s'`, same format as
   * `rateLimit`), e.g. one budget per tenant across all of a tenant's tasks. The key is
   * `group:<groupRateKey | headers[groupRateKeyHeader] | 'global'>`. Checked before `rateLimit`
   * (whose denial gives the group token back); denied tasks are delayed, keep their attempt and
   * are not failed.
   */
  readonly groupRateLimit?: string;
  /** The group of `groupRateLimit`: a fixed key or a function of the delivery. @default the `groupRateKeyHeader` header */
  readonly groupRateKey?: GroupRateKey;
  /**
   * Header that names the tenant: the group of `groupRateLimit` when `groupRateKey` gives none,
   * and the per-tenant budget of `rateLimit` (key `<task>:<tenant>`).
   * @default 'tenant'
   */
  readonly groupRateKeyHeader?: string;
  /** What happens when the rate limiter fails, for this task's `groupRateLimit` and `rateLimit`. @default 'failOpen' */
  readonly groupRateLimiterFailureMode?: RateLimiterFailureMode;
  /** Publish once while a task with the same name, queue, args, headers and meta is queued or running. @default false */
  readonly unique?: boolean;
  /** TTL in ms of the unique lock. @default the visibility timeout, else the coordinator's default */
  readonly uniqueFor?: number;
  /** Encoder of this task's args (instance or registered id). @default the registry's default (json) */
  readonly argsEncoder?: EncoderRef;
  /** Encoder of this task's stored result (instance or registered id). @default the registry's default (json) */
  readonly resultEncoder?: EncoderRef;
}

/** The option fields a module may set as defaults for every task. */
export type TaskDefaults = Omit<TaskOptions, 'rateLimit' | 'groupRateLimit' | 'groupRateKey' | 'expires' | 'unique' | 'uniqueFor' | 'argsEncoder' | 'resultEncoder'>;

/** Default values used when neither the call, the task nor the module sets an option. */
export const DEFAULT_TASK_OPTIONS = {
  queue: 'default',
  maxRetries: 0,
  visibilityTimeout: 30_000,
  priority: 0,
  groupRateKeyHeader: 'tenant',
  groupRateLimiterFailureMode: 'failOpen',
} as const;

/** Per-call options of `enqueue`. */
export interface EnqueueOptions {
  /** Use this id instead of a fresh UUIDv7. */
  readonly taskId?: string;
  readonly queue?: string;
  /** 0–9, higher first. */
  readonly priority?: number;
  /** Ms to wait before the task becomes visible (alias: countdown). */
  readonly delay?: number;
  /** Absolute time (Date or epoch ms) before which the task is not run. Wins over `delay`. */
  readonly eta?: Date | number;
  /** Ms from now, or an absolute Date, after which the task is not run. */
  readonly expires?: number | Date;
  readonly headers?: Record<string, string>;
  readonly meta?: Record<string, unknown>;
  readonly maxRetries?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly visibilityTimeout?: number;
  readonly softTimeLimit?: number;
  readonly hardTimeLimit?: number;
  readonly ignoreResult?: boolean;
  /** Deduplicate this call (see `TaskOptions.unique`); override the key with meta `stem.unique.override`. */
  readonly unique?: boolean;
  /** TTL in ms of the unique lock. */
  readonly uniqueFor?: number;
  /** Tasks the worker enqueues after this one succeeds (meta `stem.parentResult` holds the result). */
  readonly link?: readonly TaskCallSpec[];
  /** Tasks the worker enqueues after this one fails for good or is cancelled (meta `stem.parentError`). */
  readonly linkError?: readonly TaskCallSpec[];
  /**
   * Publish inside this transaction of yours (a `pg` client after `BEGIN`, on a Postgres
   * broker): the task exists once you COMMIT, and never if you ROLL BACK. The `queued` status is
   * written in the same transaction when the backend is on that database too.
   */
  readonly transaction?: unknown;
}

/** A task call to make later: link callbacks and canvas signatures. */
export interface TaskCallSpec {
  readonly name: string;
  readonly args?: unknown;
  readonly options?: EnqueueOptions;
}
