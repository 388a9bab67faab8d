import type { ResourceLimits } from 'node:worker_threads';
import { Worker as NodeThread } from 'node:worker_threads';
import { ThreadPoolClosedError } from '../../errors/thread-pool-closed.error.js';
import type { Clock, TimerHandle } from '../../utils/clock.js';
import { TypedEmitter } from '../../utils/typed-emitter.js';
import type { FromThread, ThreadTarget, ThreadWorkerData, ToThread } from './thread-protocol.js';

/** Why a pool thread was replaced by a new one. */
export type ThreadReplaceReason = 'time-limit' | 'terminated' | 'max-tasks' | 'memory' | 'crashed';

/** Events of a thread pool. */
export interface ThreadPoolEvents {
  [event: string]: unknown[];
  /** A thread was stopped and a new one takes its place; `tasks` is how many it ran. */
  'thread:replaced': [info: { threadId: number; reason: ThreadReplaceReason; tasks: number }];
  /** A thread idle for `idleTimeout` ms was stopped; the pool starts one again when work comes. */
  'thread:idle-stopped': [info: { threadId: number }];
  /** The pool size target changed (autoscaling). */
  'pool:resized': [info: { from: number; to: number }];
}

/** Counters of a thread pool, in `worker.stats().executors.thread`. */
export interface ThreadPoolStats {
  /** Threads alive now. */
  readonly size: number;
  /** Threads the pool keeps when there is work (at most `maxSize`). */
  readonly target: number;
  readonly maxSize: number;
  /** Threads running a task now. */
  readonly busy: number;
  /** Tasks waiting for a free thread. */
  readonly queued: number;
  /** Tasks finished in a thread (any outcome but a kill). */
  readonly completed: number;
  /** Threads replaced, by reason. */
  readonly replaced: Readonly<Record<ThreadReplaceReason, number>>;
  /** Threads stopped after `idleTimeout`. */
  readonly idleStopped: number;
}

/** One thread of the pool. */
export interface ThreadSlot {
  readonly thread: NodeThread;
  readonly threadId: number;
  /** Tasks it finished. */
  tasks: number;
  /** Whether it runs a task now. */
  busy: boolean;
  idleTimer?: TimerHandle;
  /** Set once the pool let go of it (terminating or exited). */
  gone: boolean;
}

/** Settings of a {@link ThreadPool}. */
export interface ThreadPoolSettings {
  readonly entry: URL;
  readonly maxSize: number;
  readonly maxTasksPerThread?: number;
  readonly maxMemoryMb?: number;
  readonly idleTimeout?: number;
  readonly execArgv?: readonly string[];
  readonly resourceLimits?: ResourceLimits;
  readonly env?: NodeJS.ProcessEnv;
  readonly preload: readonly ThreadTarget[];
  readonly clock: Clock;
  /** A message from a thread. */
  onMessage(slot: ThreadSlot, message: FromThread): void;
  /** A thread exited or crashed while it ran a task. */
  onLost(slot: ThreadSlot, error: Error): void;
}

/**
 * The threads behind a {@link ThreadExecutor}: starts them, hands an idle one to each task (or
 * queues the task), replaces a thread that was killed, crashed, ran `maxTasksPerThread` tasks or
 * grew past `maxMemoryMb`, and stops threads idle for `idleTimeout`.
 */
export class ThreadPool {
  readonly events = new TypedEmitter<ThreadPoolEvents>();
  private readonly slots = new Set<ThreadSlot>();
  private readonly waiters: { resolve(slot: ThreadSlot): void; reject(error: unknown): void }[] = [];
  private readonly replaced: Record<ThreadReplaceReason, number> = { 'time-limit': 0, terminated: 0, 'max-tasks': 0, memory: 0, crashed: 0 };
  private completed = 0;
  private idleStopped = 0;
  private targetSize: number;
  private closed = false;

  constructor(private readonly settings: ThreadPoolSettings) {
    this.targetSize = settings.maxSize;
  }

  /** An idle thread, a new one while below the target, or the next one freed. */
  acquire(): Promise<ThreadSlot> {
    if (this.closed) return Promise.reject(new ThreadPoolClosedError());
    const idle = [...this.slots].find((slot) => !slot.busy && !slot.gone);
    if (idle) return Promise.resolve(this.take(idle));
    if (this.live() < this.targetSize) {
      const slot = this.take(this.spawn());
      // NOTE: the first task starts the whole pool, so later tasks do not wait for a thread to boot.
      while (this.live() < this.targetSize) this.handOver(this.spawn());
      return Promise.resolve(slot);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hands back a thread that ran nothing (its task was aborted before it started). */
  giveBack(slot: ThreadSlot): void {
    slot.busy = false;
    if (!slot.gone) this.handOver(slot);
  }

  /** A task finished on `slot`: recycle the thread when due, else hand it to the next task. */
  release(slot: ThreadSlot, heapUsedMb: number): void {
    slot.busy = false;
    slot.tasks++;
    this.completed++;
    if (slot.gone) return;
    const { maxTasksPerThread, maxMemoryMb } = this.settings;
    if (maxTasksPerThread !== undefined && slot.tasks >= maxTasksPerThread) return this.replace(slot, 'max-tasks');
    if (maxMemoryMb !== undefined && heapUsedMb > maxMemoryMb) return this.replace(slot, 'memory');
    if (this.live() > this.targetSize) return this.stop(slot);
    this.handOver(slot);
  }

  /** Terminates `slot` (whatever it runs) and starts a thread in its place. */
  replace(slot: ThreadSlot, reason: ThreadReplaceReason): void {
    if (slot.gone) return;
    this.stop(slot);
    this.replaced[reason]++;
    this.events.emit('thread:replaced', { threadId: slot.threadId, reason, tasks: slot.tasks });
    if (this.closed || this.live() >= this.targetSize) return;
    if (reason === 'crashed' && this.waiters.length === 0) return;
    this.handOver(this.spawn());
  }

  /** Sets how many threads the pool keeps (capped at `maxSize`); idle threads above it stop at once. */
  resize(size: number): void {
    const to = Math.max(1, Math.min(this.settings.maxSize, Math.floor(size)));
    if (to === this.targetSize) return;
    const from = this.targetSize;
    this.targetSize = to;
    for (const slot of this.slots) if (this.live() > to && !slot.busy) this.stop(slot);
    while (this.waiters.length > 0 && this.live() < to) this.handOver(this.spawn());
    this.events.emit('pool:resized', { from, to });
  }

  /** Sends a message to the thread of `slot`. */
  post(slot: ThreadSlot, message: ToThread): void {
    slot.thread.postMessage(message);
  }

  stats(): ThreadPoolStats {
    const live = [...this.slots].filter((s) => !s.gone);
    return {
      size: live.length,
      target: this.targetSize,
      maxSize: this.settings.maxSize,
      busy: live.filter((s) => s.busy).length,
      queued: this.waiters.length,
      completed: this.completed,
      replaced: { ...this.replaced },
      idleStopped: this.idleStopped,
    };
  }

  /** Stops every thread; queued tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new ThreadPoolClosedError());
    const slots = [...this.slots];
    for (const slot of slots) slot.idleTimer?.cancel();
    await Promise.all(slots.map((slot) => ((slot.gone = true), slot.thread.terminate().catch(() => undefined))));
    this.slots.clear();
  }

  private live(): number {
    let n = 0;
    for (const slot of this.slots) if (!slot.gone) n++;
    return n;
  }

  private take(slot: ThreadSlot): ThreadSlot {
    slot.idleTimer?.cancel();
    slot.idleTimer = undefined;
    slot.busy = true;
    return slot;
  }

  private handOver(slot: ThreadSlot): void {
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(this.take(slot));
    const idleTimeout = this.settings.idleTimeout;
    if (idleTimeout !== undefined && Number.isFinite(idleTimeout)) {
      slot.idleTimer = this.settings.clock.setTimeout(() => {
        if (slot.busy || slot.gone) return;
        this.stop(slot);
        this.idleStopped++;
        this.events.emit('thread:idle-stopped', { threadId: slot.threadId });
      }, idleTimeout);
    }
  }

  private stop(slot: ThreadSlot): void {
    slot.gone = true;
    slot.idleTimer?.cancel();
    this.slots.delete(slot);
    void slot.thread.terminate().catch(() => undefined);
  }

  private spawn(): ThreadSlot {
    const data: ThreadWorkerData = { stemThread: true, preload: this.settings.preload };
    const thread = new NodeThread(this.settings.entry, {
      workerData: data,
      ...(this.settings.execArgv ? { execArgv: [...this.settings.execArgv] } : {}),
      ...(this.settings.resourceLimits ? { resourceLimits: this.settings.resourceLimits } : {}),
      ...(this.settings.env ? { env: this.settings.env } : {}),
    });
    // NOTE: the worker's own loop keeps the process alive; an idle pool must not.
    thread.unref();
    const slot: ThreadSlot = { thread, threadId: thread.threadId, tasks: 0, busy: false, gone: false };
    this.slots.add(slot);
    thread.on('message', (message: FromThread) => this.settings.onMessage(slot, message));
    let failure: Error | undefined;
    thread.on('error', (error) => (failure = error));
    thread.on('exit', (code) => {
      if (slot.gone) return;
      const error = failure ?? new Error(`thread ${slot.threadId} exited with code ${code}`);
      const wasBusy = slot.busy;
      this.replace(slot, 'crashed');
      if (wasBusy) this.settings.onLost(slot, error);
    });
    return slot;
  }
}
