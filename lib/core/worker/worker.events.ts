import type { Delivery } from '../contracts/broker.js';
import type { Envelope, TaskError } from '../envelope.js';
import type { RateLimiterFailureMode } from '../task-options.js';

/** Which limit of a task a rate-limit event is about, and the limiter key it used. */
export interface RateLimitScope {
  /** `group`: the task's `groupRateLimit`; `task`: its `rateLimit`. */
  readonly kind: 'group' | 'task';
  /** Limiter key: `group:<key>` or `<task>:<tenant|global>`. */
  readonly key: string;
}

/** Events of a {@link Worker}, with one line each on when they fire. */
export interface WorkerEvents {
  [event: string]: unknown[];
  /** The worker subscribed and is taking work. */
  'worker:ready': [info: { id: string; queues: readonly string[]; concurrency: number }];
  /** Something went wrong outside a task (broker or backend unreachable, ...). The worker keeps running. */
  'worker:error': [error: unknown];
  /** `close()` began: the worker stopped fetching and drains its running tasks in `mode`. */
  'worker:draining': [info: { mode: 'warm' | 'soft' | 'hard'; active: number; prefetched: number }];
  /** The concurrency cap changed (`worker.setConcurrency()`, autoscaling). */
  'worker:resized': [info: { from: number; to: number }];
  /** Autoscaling changed the concurrency: up on a `backlog`, down when `idle`; `pending` is the broker's count then. */
  'worker:scaled': [info: { from: number; to: number; reason: 'backlog' | 'idle'; pending: number }];
  /** The worker stopped; nothing of it runs any more. */
  'worker:closed': [];
  /** A delivery arrived and is about to be processed. */
  'task:received': [envelope: Envelope];
  /** An attempt started (status `running` written). */
  'task:started': [envelope: Envelope];
  /** The task succeeded; `result` was stored unless the task ignores results. */
  'task:succeeded': [envelope: Envelope, result: unknown, durationMs: number];
  /** An attempt failed and a retry was scheduled (status `retried`). */
  'task:retried': [envelope: Envelope, error: TaskError, delayMs: number];
  /** The task failed for good (status `failed`). */
  'task:failed': [envelope: Envelope, error: TaskError];
  /** The task was cancelled (revoked) and acked (status `cancelled`). */
  'task:cancelled': [envelope: Envelope, error: TaskError];
  /** The task expired before it ran (status `cancelled`). */
  'task:expired': [envelope: Envelope];
  /** The envelope was moved to the dead letters. */
  'task:dead-lettered': [envelope: Envelope, reason: string];
  /** The rate limit denied the task; it was delayed by `retryAfterMs` without using an attempt. */
  'task:rate-limited': [envelope: Envelope, retryAfterMs: number, scope: RateLimitScope];
  /**
   * The rate limiter failed for `scope`: with `failOpen` the task ran unlimited (status meta
   * `stem.rate_limiter.degraded`), with `failClosed` it was delayed (then `task:rate-limited` too).
   */
  'task:rate-limiter-degraded': [envelope: Envelope, info: RateLimitScope & { readonly mode: RateLimiterFailureMode; readonly error: unknown }];
  /** A worker extension's `beforeRun` delayed the task by `delayMs`, without using an attempt. */
  'task:delayed': [envelope: Envelope, delayMs: number, reason: string];
  /** `ctx.progress()` was called. */
  'task:progress': [envelope: Envelope, percent: number, data: unknown];
  /** `ctx.heartbeat()` was called. */
  'task:heartbeat': [envelope: Envelope];
  /** The soft time limit passed and `ctx.signal` was aborted. */
  'task:soft-timeout': [envelope: Envelope];
  /** The lease was renewed (automatically or by `ctx.extendLease`). */
  'task:lease-renewed': [delivery: Delivery];
  /** The broker no longer holds this delivery's lease; the task may run elsewhere. */
  'task:lease-lost': [envelope: Envelope, error: unknown];
}

/** Every event name of {@link WorkerEvents}. */
export type WorkerEventName = keyof WorkerEvents & string;
