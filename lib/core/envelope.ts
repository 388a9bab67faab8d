/**
 * The lifecycle states of a task, as recorded in the result backend.
 *
 * - `queued`: published, waiting for a worker.
 * - `running`: a worker is executing an attempt.
 * - `retried`: an attempt failed and a retry is scheduled under the same id.
 * - `succeeded`, `failed`, `cancelled`: terminal.
 */
export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'retried' | 'cancelled';

/** States after which a task never changes again. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['succeeded', 'failed', 'cancelled']);

/** True when `state` is `succeeded`, `failed` or `cancelled`. */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

/**
 * The unit of work that travels through a broker. The `id` is stable across retries:
 * a retry re-publishes the same id with `attempt + 1`.
 */
export interface Envelope<TArgs = unknown> {
  /** Task id (UUIDv7), stable across retries. */
  readonly id: string;
  /** Registered task name, e.g. `email.send`. */
  readonly name: string;
  /** Task arguments, JSON-serialisable. */
  readonly args: TArgs;
  /** String headers (`traceparent`, `stem-*`, user headers such as `x-tenant`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Queue the envelope is published to. */
  readonly queue: string;
  /** Priority 0–9, higher runs first. */
  readonly priority: number;
  /** 0-based attempt counter. */
  readonly attempt: number;
  /** Number of retries allowed after the first attempt; unset means the handler's or worker's default. */
  readonly maxRetries?: number;
  /** Epoch ms before which the envelope must not be delivered. */
  readonly notBefore?: number;
  /** Epoch ms when the task was first enqueued. */
  readonly enqueuedAt: number;
  /** Lease length in ms for each delivery; unset means the handler's or broker's default. */
  readonly visibilityTimeout?: number;
  /** Free-form metadata; keys under `stem.` are reserved for the platform. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Error details recorded on a failed, retried or cancelled task. */
export interface TaskError {
  /** Error class name, e.g. `TypeError` or `InvalidTaskArgsError`. */
  readonly type: string;
  /** Human-readable message. */
  readonly message: string;
  /** Stack trace when available. */
  readonly stack?: string;
  /** Whether the worker will (or would) retry after this error. */
  readonly retryable: boolean;
  /** Extra structured details (validation constraints, dead-letter reason, ...). */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Progress reported by `ctx.progress()`, persisted in the backend. */
export interface TaskProgress {
  /** Completion percentage 0–100. */
  readonly percent: number;
  /** Optional structured progress data. */
  readonly data?: unknown;
  /** Epoch ms of the report. */
  readonly updatedAt: number;
}

/** The status of a task as stored in a result backend. */
export interface TaskStatus<TResult = unknown> {
  readonly id: string;
  readonly state: TaskState;
  /** Task name, when known. */
  readonly name?: string;
  /** Queue, when known. */
  readonly queue?: string;
  /** Result value for `succeeded` tasks (absent when the task ignores results). */
  readonly payload?: TResult;
  /** Error details for `failed`, `retried` and `cancelled` tasks. */
  readonly error?: TaskError;
  /** Attempt the status refers to (0-based). */
  readonly attempt: number;
  readonly meta: Readonly<Record<string, unknown>>;
  /** Last progress report. */
  readonly progress?: TaskProgress;
  /** Epoch ms of the last `ctx.heartbeat()`. */
  readonly heartbeatAt?: number;
  /** Epoch ms when the status was first written. */
  readonly createdAt: number;
  /** Epoch ms of the last write. */
  readonly updatedAt: number;
}

/** Well-known header names, kept from Stem for compatibility of tools and dashboards. */
export const StemHeaders = {
  signature: 'stem-signature',
  signatureKey: 'stem-signature-key',
  groupId: 'stem-group-id',
  chordId: 'stem-chord-id',
  argsEncoder: 'stem-args-encoder',
  scheduledFrom: 'scheduled-from',
  scheduleId: 'schedule-id',
  traceparent: 'traceparent',
  /** The tenant a task belongs to: the default group of `groupRateLimit`, and a budget of its own under `rateLimit`. */
  tenant: 'tenant',
} as const;

/** Well-known meta keys (all under the reserved `stem.` prefix). */
export const StemMeta = {
  parentTaskId: 'stem.parentTaskId',
  rootTaskId: 'stem.rootTaskId',
  parentAttempt: 'stem.parentAttempt',
  expiresAt: 'stem.expiresAt',
  retryPolicy: 'stem.retryPolicy',
  softTimeLimitMs: 'stem.softTimeLimitMs',
  hardTimeLimitMs: 'stem.timeLimitMs',
  ignoreResult: 'stem.ignoreResult',
  task: 'stem.task',
  retryDelayMs: 'stem.retryDelayMs',
  deadLetterReason: 'stem.deadLetterReason',
  rateLimitedUntil: 'stem.rateLimitedUntil',
  /** The rate limiter failed and the task ran unlimited (`failOpen`): `{ keys, error, at }`. */
  rateLimiterDegraded: 'stem.rate_limiter.degraded',
  replayedFrom: 'stem.replayedFrom',
  /** Errors inside the worker's pipeline (not the handler's) this delivery has met so far. */
  pipelineFailures: 'stem.pipelineFailures',
  /** Why a revoked task was cancelled. */
  revokedReason: 'stem.revoked.reason',
  /** Who revoked it. */
  revokedBy: 'stem.revoked.by',
  /** Epoch ms when it was revoked. */
  revokedAt: 'stem.revoked.at',
} as const;
