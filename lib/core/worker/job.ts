import type { Delivery } from '../contracts/broker.js';
import type { TaskHandler } from '../task-handler.js';

/**
 * Where a delivery the worker holds stands.
 * - `buffered`: fetched, waiting for a slot; its lease is renewed.
 * - `running`: its pipeline runs; its lease is renewed.
 * - `finishing`: its terminal status is stored and its follow-ups run before the ack; a hard
 *   shutdown lets it finish instead of requeueing it. Its lease is renewed until it leaves.
 * - `released`: settled or handed back to the broker; its lease is no longer renewed.
 * - `abandoned`: requeued by a hard shutdown, or its lease was lost; whatever its handler does
 *   later is ignored and nothing more is written for it.
 */
export type JobState = 'buffered' | 'running' | 'finishing' | 'released' | 'abandoned';

/**
 * An abort switch whose `AbortSignal` is only created when a task asks for it: most tasks never
 * read `ctx.signal`, and creating a signal per task showed up in profiles.
 */
export class LazyAbort {
  private controller?: AbortController;
  private abortedWith?: { reason: unknown };

  /** The signal, created on first read (already aborted if the switch was thrown before). */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortedWith && !this.controller.signal.aborted) this.controller.abort(this.abortedWith.reason);
    return this.controller.signal;
  }

  /** Whether it was aborted (without creating the signal). */
  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** The abort reason, once aborted. */
  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  /** Aborts with `reason`; the first abort wins. */
  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/** One delivery the worker holds, waiting or running. */
export interface Job {
  readonly delivery: Delivery;
  readonly handler: TaskHandler | undefined;
  /** Lease length in ms asked for at each renewal (`ctx.extendLease` changes it). */
  leaseMs: number;
  /** Epoch ms at which the lease keeper renews this delivery's lease. */
  renewAt: number;
  /** Aborts the handler's `ctx.signal`. */
  readonly controller: LazyAbort;
  state: JobState;
  /** Epoch ms when it got a slot. */
  startedAt?: number;
  /** Epoch ms when its attempt was admitted and started running (`task-prerun`). */
  executedAt?: number;
  /** Meta merged into the status its attempt ends with (`TaskRun.statusMeta`). */
  statusMeta?: Record<string, unknown>;
  /**
   * The broker has taken the delivery back (requeued or dead-lettered): a later error in its
   * pipeline has nothing left to requeue.
   */
  handedBack: boolean;
}

/** A new job for a fetched delivery, waiting for a slot. */
export function bufferedJob(delivery: Delivery, handler: TaskHandler | undefined, leaseMs: number, renewAt: number): Job {
  return { delivery, handler, leaseMs, renewAt, controller: new LazyAbort(), state: 'buffered', handedBack: false };
}

/** The job was requeued by a hard shutdown or lost its lease: ignore whatever happens to it later. */
export function isAbandoned(job: Job): boolean {
  return job.state === 'abandoned';
}

/** Whether the lease keeper still renews the job's lease. */
export function holdsLease(job: Job): boolean {
  return job.state === 'buffered' || job.state === 'running' || job.state === 'finishing';
}

/** A buffered job got a slot (an abandoned one keeps its state, so its pipeline stops at once). */
export function markRunning(job: Job): void {
  if (job.state === 'buffered') job.state = 'running';
}

/** The job was settled or handed back: stop renewing its lease. An abandoned job stays abandoned. */
export function markReleased(job: Job): void {
  if (job.state !== 'abandoned') job.state = 'released';
}

/** Gives the job up: its outcome is ignored from now on, and its `ctx.signal` aborts with `reason`. */
export function abandon(job: Job, reason: unknown): void {
  job.state = 'abandoned';
  job.controller.abort(reason);
}
