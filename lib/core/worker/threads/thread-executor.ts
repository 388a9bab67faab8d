import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { ConfigurationError } from '../../errors/configuration.error.js';
import { TaskTerminatedError } from '../../errors/task-terminated.error.js';
import { ThreadPoolClosedError } from '../../errors/thread-pool-closed.error.js';
import { ThreadExitedError } from '../../errors/thread-exited.error.js';
import { TimeLimitExceededError } from '../../errors/time-limit-exceeded.error.js';
import { UnrecoverableError } from '../../errors/unrecoverable.error.js';
import type { TaskHandler } from '../../task-handler.js';
import { type Clock, systemClock, type TimerHandle } from '../../utils/clock.js';
import type { TaskExecutor, TaskRun } from '../task-executor.js';
import { reviveError, serializeError } from './thread-errors.js';
import { ThreadPool, type ThreadPoolStats, type ThreadSlot } from './thread-pool.js';
import type { FromThread, ThreadContextMethod, ThreadTarget } from './thread-protocol.js';

/** Name of the thread executor in a worker's `executors`, as tasks name it in `runIn`. */
export const THREAD_EXECUTOR = 'thread';

declare module '../../task-handler.js' {
  interface TaskHandler {
    /** Where a thread finds this task's code when it runs in a {@link ThreadExecutor} (see `threadTask()`). */
    readonly thread?: ThreadTarget;
  }
}

/** Options of a {@link ThreadExecutor}. */
export interface ThreadExecutorOptions {
  /** Threads at most (the pool follows the worker's concurrency below it when autoscaling). @default os.availableParallelism() */
  readonly size?: number;
  /** A thread is replaced after this many tasks. @default unlimited */
  readonly maxTasksPerThread?: number;
  /** A thread whose V8 heap is above this many MB after a task is replaced. @default unlimited */
  readonly maxMemoryMb?: number;
  /** A thread idle this many ms is stopped (started again on demand). @default never */
  readonly idleTimeout?: number;
  /** Where a thread finds a task without its own `thread` target (the Nest layer points it at the app's module). */
  readonly target?: ThreadTarget;
  /** Node options of the threads. @default the process's `execArgv` */
  readonly execArgv?: readonly string[];
  /** V8 heap limits of each thread; a thread past them dies and its task fails with `ThreadExitedError`. */
  readonly resourceLimits?: ResourceLimits;
  /** @default systemClock */
  readonly clock?: Clock;
}

const CONTEXT_METHODS: ReadonlySet<ThreadContextMethod> = new Set(['heartbeat', 'extendLease', 'progress', 'enqueue', 'log']);

interface ActiveRun {
  readonly id: number;
  readonly run: TaskRun;
  readonly slot: ThreadSlot;
  readonly timers: TimerHandle[];
  resolve(value: unknown): void;
  reject(error: unknown): void;
  settled: boolean;
}

/** The thread entry next to this file: the compiled `.js` in a build, the `.ts` source under a TypeScript loader. */
function entryUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./thread-entry.${ext}`, import.meta.url);
}

/**
 * Runs tasks in a pool of `node:worker_threads`, so CPU-bound code does not stall the worker's
 * event loop (lease renewals, other tasks, an HTTP server in the same process). The handler's
 * `ctx` works as inline: `signal`, `progress`, `heartbeat`, `extendLease`, `retry` and child
 * `enqueue` are carried over the thread's message port; errors come back with their name,
 * message, stack, class chain and own fields, so retry filters match them.
 *
 * The hard time limit terminates the thread, fails the attempt with `TimeLimitExceededError`
 * and starts a replacement; {@link ThreadExecutor.terminate} does the same for a revoke.
 *
 * @example
 * const worker = new Worker({ broker, backend, registry, executors: { thread: new ThreadExecutor({ size: 2, maxTasksPerThread: 500 }) } });
 * registry.register(threadTask({ name: 'images.resize', file: new URL('./resize.js', import.meta.url).href, export: 'resize' }));
 */
export class ThreadExecutor implements TaskExecutor {
  private readonly pool: ThreadPool;
  private readonly clock: Clock;
  private readonly active = new Map<number, ActiveRun>();
  private nextId = 0;

  constructor(private readonly options: ThreadExecutorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw new ConfigurationError('threads.size', `must be a positive integer, got ${size}`);
    this.pool = new ThreadPool({
      entry: entryUrl(),
      maxSize: size,
      ...(options.maxTasksPerThread !== undefined ? { maxTasksPerThread: options.maxTasksPerThread } : {}),
      ...(options.maxMemoryMb !== undefined ? { maxMemoryMb: options.maxMemoryMb } : {}),
      ...(options.idleTimeout !== undefined ? { idleTimeout: options.idleTimeout } : {}),
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      preload: options.target ? [options.target] : [],
      clock: this.clock,
      onMessage: (slot, message) => this.onMessage(slot, message),
      onLost: (slot, error) => this.onLost(slot, error),
    });
  }

  /** Pool events: `thread:replaced` (with its reason), `thread:idle-stopped`, `pool:resized`. */
  get events(): ThreadPool['events'] {
    return this.pool.events;
  }

  async run(run: TaskRun): Promise<unknown> {
    const target = this.targetOf(run.handler);
    const slot = await this.acquire(run);
    return new Promise((resolve, reject) => {
      const active: ActiveRun = { id: this.nextId++, run, slot, timers: [], resolve, reject, settled: false };
      this.active.set(active.id, active);
      const onAbort = () => this.pool.post(slot, { t: 'abort', id: active.id, reason: serializeError(run.signal.reason) });
      run.signal.addEventListener('abort', onAbort, { once: true });
      active.timers.push({ cancel: () => run.signal.removeEventListener('abort', onAbort) });
      try {
        this.pool.post(slot, { t: 'run', id: active.id, task: run.envelope.name, target, args: run.args, ctx: { envelope: run.envelope, maxRetries: run.maxRetries } });
      } catch (error) {
        // NOTE: args that do not survive structured clone (functions, symbols) never will: no retries.
        const message = `args of task "${run.envelope.name}" cannot be sent to a thread: ${(error as Error)?.message ?? String(error)}`;
        this.settle(active, new UnrecoverableError(message, { cause: error }), false);
        this.pool.giveBack(slot);
      }
    });
  }

  /**
   * Stops the task `taskId` now if it runs in a thread: the thread is terminated and replaced,
   * the attempt fails with `error` (default `TaskTerminatedError`), retried per the task's policy
   * unless `error` says otherwise. Returns whether the task was running here.
   */
  terminate(taskId: string, error?: Error): boolean {
    for (const active of this.active.values()) {
      if (active.run.envelope.id !== taskId) continue;
      const reason = error ?? new TaskTerminatedError(active.run.envelope.name, taskId);
      active.run.abort(reason);
      this.kill(active, reason, 'terminated');
      return true;
    }
    return false;
  }

  /** Sets the number of threads kept (capped at `size`); the worker's autoscaler calls it. */
  resize(concurrency: number): void {
    this.pool.resize(concurrency);
  }

  /** Pool counters: `size`, `busy`, `queued`, `replaced` by reason, ... */
  stats(): ThreadPoolStats {
    return this.pool.stats();
  }

  /** Stops every thread; tasks still running in one fail with `ThreadPoolClosedError`. */
  async close(): Promise<void> {
    for (const active of [...this.active.values()]) this.settle(active, new ThreadPoolClosedError(active.run.envelope.name), false);
    await this.pool.close();
  }

  /** A thread for `run`, or its signal's reason when it aborts while queued (shutdown, lost lease). */
  private async acquire(run: TaskRun): Promise<ThreadSlot> {
    if (run.signal.aborted) throw run.signal.reason;
    const acquiring = this.pool.acquire();
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(run.signal.reason);
      run.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([acquiring, aborted]);
    } catch (error) {
      // NOTE: aborted while queued: hand the thread on if one comes later.
      acquiring.then((slot) => this.pool.giveBack(slot)).catch(() => undefined);
      throw error;
    } finally {
      run.signal.removeEventListener('abort', onAbort);
    }
  }

  private targetOf(handler: TaskHandler): ThreadTarget {
    const target = handler.thread ?? this.options.target;
    if (!target) {
      throw new ConfigurationError(
        'runIn',
        `task "${handler.name}" runs in a thread but names no code for it: register it with threadTask({ name, file, export }), or give the ThreadExecutor a \`target\``,
      );
    }
    return target;
  }

  private onMessage(slot: ThreadSlot, message: FromThread): void {
    const active = this.active.get(message.id);
    if (!active || active.slot !== slot) return;
    if (message.t === 'started') return this.startTimers(active);
    if (message.t === 'call') return void this.answer(active, message);
    this.pool.release(slot, message.heapUsedMb);
    if (message.ok) this.settle(active, message.value, true);
    else this.settle(active, reviveError(message.error!), false);
  }

  private async answer(active: ActiveRun, message: Extract<FromThread, { t: 'call' }>): Promise<void> {
    try {
      if (!CONTEXT_METHODS.has(message.method)) throw new TypeError(`ctx.${message.method} is not available in a thread`);
      const value = message.method === 'log' ? this.log(active, message.params) : await this.callContext(active, message.method, message.params);
      if (!active.slot.gone) this.pool.post(active.slot, { t: 'reply', call: message.call, ok: true, value });
    } catch (error) {
      if (!active.slot.gone) this.pool.post(active.slot, { t: 'reply', call: message.call, ok: false, error: serializeError(error) });
    }
  }

  private callContext(active: ActiveRun, method: Exclude<ThreadContextMethod, 'log'>, params: readonly unknown[]): Promise<unknown> {
    const fn = active.run.context[method] as (...params: unknown[]) => Promise<unknown>;
    return fn.apply(active.run.context, [...params]);
  }

  /** A `ctx.logger` line written in the thread, written by the attempt's own logger (same fields, same sink). */
  private log(active: ActiveRun, [level, message, extra]: readonly unknown[]): undefined {
    const logger = active.run.context.logger;
    const write = level === 'debug' || level === 'warn' || level === 'error' ? logger[level] : logger.info;
    write.call(logger, String(message), extra as Record<string, unknown> | undefined);
    return undefined;
  }

  private startTimers(active: ActiveRun): void {
    const { run } = active;
    if (run.softTimeLimit !== undefined) active.timers.push(this.clock.setTimeout(() => run.softTimeout(), run.softTimeLimit));
    const hard = run.hardTimeLimit;
    if (hard !== undefined) {
      active.timers.push(
        this.clock.setTimeout(() => {
          const error = new TimeLimitExceededError(run.envelope.name, hard);
          run.abort(error);
          this.kill(active, error, 'time-limit');
        }, hard),
      );
    }
  }

  private kill(active: ActiveRun, error: Error, reason: 'time-limit' | 'terminated'): void {
    this.settle(active, error, false);
    this.pool.replace(active.slot, reason);
  }

  private onLost(slot: ThreadSlot, error: Error): void {
    for (const active of this.active.values()) {
      if (active.slot === slot) this.settle(active, new ThreadExitedError(active.run.envelope.name, slot.threadId, error), false);
    }
  }

  private settle(active: ActiveRun, value: unknown, ok: boolean): void {
    if (active.settled) return;
    active.settled = true;
    this.active.delete(active.id);
    for (const timer of active.timers) timer.cancel();
    if (ok) active.resolve(value);
    else active.reject(value);
  }
}
