import type { ScheduleDispatch } from '../beat/beat.events.js';
import type { Delivery } from '../contracts/broker.js';
import type { WorkerHeartbeat } from '../contracts/control-store.js';
import type { ScheduleEntry } from '../contracts/schedule-store.js';
import type { Envelope, TaskError } from '../envelope.js';
import type { RunState, WorkflowSuspension } from '../workflow/run-state.js';

/** Which limit of a task a rate-limit signal is about, and the limiter key it used. */
export interface RateLimitScope {
  /** `group`: the task's `groupRateLimit`; `task`: its `rateLimit`. */
  readonly kind: 'group' | 'task';
  /** Limiter key: `group:<key>` or `<task>:<tenant|global>` (escaped so no two collide; see `taskRateLimitKey`). */
  readonly key: string;
}

/** What every signal about one delivery on a worker carries. */
export interface TaskSignalBase {
  readonly envelope: Envelope;
  /** The worker that holds the delivery. */
  readonly workerId: string;
}

/** What every signal about a worker carries. */
export interface WorkerSignalBase {
  readonly workerId: string;
}

/** A control command as the `control-command-*` signals carry it (the shape of `ControlRequest`). */
export interface ControlCommandInfo {
  readonly requestId: string;
  /** `ping`, `stats`, `inspect`, `revoke`, `pause`, `resume`, `shutdown`, `set-concurrency`, `rate-limit`. */
  readonly type: string;
  readonly payload: unknown;
  readonly targets?: readonly string[];
  readonly sentAt: number;
}

/** How an attempt that ran ended, as `task-postrun` reports it. */
export type PostrunState = 'succeeded' | 'failed' | 'retried' | 'cancelled';

/**
 * Every signal Stem emits, with its payload (one object per signal). Listen with
 * `stem.signals.on(name, listener)` or `worker.signals.on(...)`; the table in the README lists
 * where each one comes from.
 */
export interface StemSignalMap {
  /** A built and signed envelope is about to be handed to the broker (after the `onEnqueue` middleware). */
  'before-task-publish': { readonly envelope: Envelope };
  /** The broker took the envelope; `taskId` differs from `envelope.id` when a unique task was deduplicated (nothing published). */
  'after-task-publish': { readonly envelope: Envelope; readonly taskId: string; readonly deduplicated: boolean };

  /** A delivery reached the worker's pipeline (before signature, handler and admission checks). */
  'task-received': TaskSignalBase;
  /** An attempt starts: admitted, status `running` written, the handler is called next. */
  'task-prerun': TaskSignalBase;
  /** An attempt that ran is settled (any outcome); `durationMs` from `task-prerun` to settlement. */
  'task-postrun': TaskSignalBase & { readonly state: PostrunState; readonly durationMs: number };
  /** An attempt failed and a retry is scheduled under the same id after `delayMs` (status `retried`). */
  'task-retry': TaskSignalBase & { readonly error: TaskError; readonly delayMs: number };
  /** The task succeeded; `result` is the handler's return value, `durationMs` the attempt's run time. */
  'task-succeeded': TaskSignalBase & { readonly result: unknown; readonly durationMs: number };
  /** The task failed for good (status `failed`, dead-lettered). */
  'task-failed': TaskSignalBase & { readonly error: TaskError };
  /** The task was cancelled (revoked, terminated, or an extension's `cancel`) and acked (status `cancelled`). */
  'task-revoked': TaskSignalBase & { readonly error: TaskError };
  /** The task expired before it ran (status `cancelled`, dead letter `expired`). */
  'task-expired': TaskSignalBase;
  /** The envelope was moved to the dead letters with `reason`. */
  'task-dead-lettered': TaskSignalBase & { readonly reason: string };
  /** The rate limit denied the task; it is delayed by `retryAfterMs` without using an attempt. */
  'task-rate-limited': TaskSignalBase & { readonly retryAfterMs: number; readonly scope: RateLimitScope };
  /**
   * The rate limiter failed for the task: with `failOpen` it ran anyway (status meta
   * `stem.rate_limiter.degraded`), with `failClosed` it was delayed (then `task-rate-limited` too).
   */
  'task-rate-limiter-degraded': TaskSignalBase & RateLimitScope & { readonly mode: 'failOpen' | 'failClosed'; readonly error: unknown };
  /** A worker extension's `beforeRun` delayed the task by `delayMs`, without using an attempt. */
  'task-delayed': TaskSignalBase & { readonly delayMs: number; readonly reason: string };
  /** The handler called `ctx.progress()`. */
  'task-progress': TaskSignalBase & { readonly percent: number; readonly data: unknown };
  /** The handler called `ctx.heartbeat()`. */
  'task-heartbeat': TaskSignalBase;
  /** The soft time limit passed and `ctx.signal` was aborted. */
  'task-soft-timeout': TaskSignalBase;
  /** The lease of a delivery was renewed (automatically or by `ctx.extendLease`). */
  'task-lease-renewed': WorkerSignalBase & { readonly delivery: Delivery };
  /** The broker no longer holds this delivery's lease; the task may run elsewhere. */
  'task-lease-lost': TaskSignalBase & { readonly error: unknown };

  /** A worker was constructed (only listeners of a shared `signals` hub see it). */
  'worker-init': WorkerSignalBase & { readonly queues: readonly string[]; readonly concurrency: number };
  /** The worker subscribed and is taking work. */
  'worker-ready': WorkerSignalBase & { readonly queues: readonly string[]; readonly concurrency: number };
  /** `close()` began: the worker stopped fetching and drains its running tasks in `mode`. */
  'worker-stopping': WorkerSignalBase & { readonly mode: 'warm' | 'soft' | 'hard'; readonly active: number; readonly prefetched: number };
  /** The worker stopped; nothing of it runs any more. */
  'worker-shutdown': WorkerSignalBase;
  /** The worker's heartbeat was written to the control store (workers with a `WorkerControl`). */
  'worker-heartbeat': WorkerSignalBase & { readonly heartbeat: WorkerHeartbeat };
  /** Something failed outside a task (broker or backend unreachable, an extension hook); the worker keeps running. */
  'worker-error': WorkerSignalBase & { readonly error: unknown };
  /** The concurrency cap changed (`worker.setConcurrency()`, autoscaling). */
  'worker-resized': WorkerSignalBase & { readonly from: number; readonly to: number };
  /** Autoscaling changed the concurrency: up on a `backlog`, down when `idle`; `pending` is the broker's count then. */
  'worker-scaled': WorkerSignalBase & { readonly from: number; readonly to: number; readonly reason: 'backlog' | 'idle'; readonly pending: number };
  /** Not emitted: pool threads report on the thread executor's own `events` (`thread:*`). */
  'worker-child-init': WorkerSignalBase & { readonly threadId: number };
  /** Not emitted: pool threads report on the thread executor's own `events` (`thread:replaced`, `thread:idle-stopped`). */
  'worker-child-shutdown': WorkerSignalBase & { readonly threadId: number };

  /** Beat found a schedule entry due and will try to dispatch it. */
  'schedule-entry-due': { readonly beatId: string; readonly entry: ScheduleEntry };
  /** Beat enqueued a run of the entry and recorded it. */
  'schedule-entry-dispatched': { readonly beatId: string; readonly dispatch: ScheduleDispatch };
  /** Beat could not enqueue a run of the entry (recorded as its `lastError`). */
  'schedule-entry-failed': { readonly beatId: string; readonly entry: ScheduleEntry; readonly error: Error; readonly scheduledFor: number };

  /** A control command reached the worker (before it acts on it). */
  'control-command-received': WorkerSignalBase & { readonly request: ControlCommandInfo };
  /** The worker handled a control command: `ok` with its `reply`, or not with `error`. */
  'control-command-completed': WorkerSignalBase & { readonly request: ControlCommandInfo; readonly ok: boolean; readonly reply?: unknown; readonly error?: unknown };

  /** A workflow run was created and its first run task enqueued. */
  'workflow-run-started': { readonly run: RunState };
  /** A run suspended (sleep, event, signal, child). */
  'workflow-run-suspended': { readonly runId: string; readonly suspension: WorkflowSuspension };
  /** A suspended run resumed in this process. */
  'workflow-run-resumed': { readonly runId: string };
  /** A run completed. */
  'workflow-run-completed': { readonly run: RunState };
  /** A run failed for good. */
  'workflow-run-failed': { readonly run: RunState };
  /** A run was cancelled (by a call or a cancellation policy). */
  'workflow-run-cancelled': { readonly run: RunState };
}

/** The name of a signal. */
export type StemSignalName = keyof StemSignalMap & string;

/** The payload of signal `K`. */
export type StemSignalPayload<K extends StemSignalName> = StemSignalMap[K];

/** Every signal name, in the order of the README's table. */
export const STEM_SIGNAL_NAMES = [
  'before-task-publish',
  'after-task-publish',
  'task-received',
  'task-prerun',
  'task-postrun',
  'task-retry',
  'task-succeeded',
  'task-failed',
  'task-revoked',
  'task-expired',
  'task-dead-lettered',
  'task-rate-limited',
  'task-rate-limiter-degraded',
  'task-delayed',
  'task-progress',
  'task-heartbeat',
  'task-soft-timeout',
  'task-lease-renewed',
  'task-lease-lost',
  'worker-init',
  'worker-ready',
  'worker-stopping',
  'worker-shutdown',
  'worker-heartbeat',
  'worker-error',
  'worker-resized',
  'worker-scaled',
  'worker-child-init',
  'worker-child-shutdown',
  'schedule-entry-due',
  'schedule-entry-dispatched',
  'schedule-entry-failed',
  'control-command-received',
  'control-command-completed',
  'workflow-run-started',
  'workflow-run-suspended',
  'workflow-run-resumed',
  'workflow-run-completed',
  'workflow-run-failed',
  'workflow-run-cancelled',
] as const satisfies readonly StemSignalName[];

/** Signals declared for compatibility with Stem's list that nothing emits yet (see their doc lines). */
export const NOT_EMITTED_SIGNALS: readonly StemSignalName[] = ['worker-child-init', 'worker-child-shutdown'];
