import { bridgeBeatSignals, signalsOf } from '../signals/signal-bridges.js';
import { createHash, randomBytes } from 'node:crypto';
import type { LockStore } from '../contracts/lock-store.js';
import type { ScheduleEntry, ScheduleExecution, ScheduleStore } from '../contracts/schedule-store.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import { ScheduleConflictError } from '../errors/schedule-conflict.error.js';
import { type Clock, systemClock, type TimerHandle } from '../utils/clock.js';
import { TypedEmitter } from '../utils/typed-emitter.js';
import { StemTracing } from '../observability/stem-tracing.js';
import type { BeatEvents } from './beat.events.js';
import type { BeatEnqueuer, BeatMetric, BeatOptions, BeatStopOptions, CatchUpPolicy } from './beat.options.js';
import { nextRun } from './schedule-calculator.js';

/** Header values Beat puts on every task it enqueues. */
export const BeatHeaders = {
  scheduledFrom: 'scheduled-from',
  scheduleId: 'schedule-id',
} as const;

/** Meta key carrying the epoch ms a scheduled run was due. */
export const SCHEDULED_FOR_META = 'stem.scheduledFor';

/**
 * The task id of one scheduled run: a UUID whose first 48 bits are `scheduledFor` (ids sort by
 * time, as UUIDv7 do) and the rest a hash of the schedule id and time. A run re-dispatched after
 * a crash gets the same id, so `ctx.idempotencyKey()` and the stored status match.
 */
export function scheduledTaskId(scheduleId: string, scheduledFor: number): string {
  const bytes = createHash('sha256').update(`${scheduleId}\u0000${scheduledFor}`).digest().subarray(0, 16);
  for (let i = 0; i < 6; i++) bytes[i] = Math.floor(scheduledFor / 2 ** (8 * (5 - i))) & 0xff;
  bytes[6] = 0x80 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface RunControl {
  readonly abort: AbortController;
  /** Set by a stop without releasing: act as if the process died (no dispatch, no writes, keep locks). */
  abandoned: boolean;
}

/**
 * The scheduler: every `tickInterval` it asks the store for due entries and enqueues each through
 * `stem.enqueue`. Any number of replicas may share a store and lock store: an entry is locked
 * (with renewal) while one replica dispatches it, re-read under the lock, and its run recorded
 * with a versioned `markExecuted`, so each due tick is dispatched once. A replica that dies holds
 * its locks for at most `lockTtl`.
 *
 * @example
 * const beat = new Beat({ store, stem, lockStore });
 * beat.events.on('schedule:dispatched', (d) => log.info(`${d.entry.id} → ${d.taskId}`));
 * await beat.start();
 * // ...
 * await beat.stop();
 */
export class Beat {
  /** Typed events; see {@link BeatEvents}. */
  readonly events = new TypedEmitter<BeatEvents>();
  /** Lock owner id of this replica. */
  readonly id: string;
  private readonly store: ScheduleStore;
  private readonly stem: BeatEnqueuer;
  private readonly locks: LockStore;
  private readonly clock: Clock;
  private readonly tickInterval: number;
  private readonly lockTtl: number;
  private readonly catchUp: CatchUpPolicy;
  private readonly misfireGrace: number;
  private readonly batchSize: number;
  private readonly lockPrefix: string;
  private readonly random: () => number;
  private readonly tracing?: StemTracing;
  private readonly inFlight = new Map<string, { control: RunControl; done: Promise<void> }>();
  private running = false;
  private tickTimer?: TimerHandle;
  private ticking?: Promise<unknown>;
  private tickUnderWay = false;

  constructor(private readonly options: BeatOptions) {
    this.store = options.store;
    this.stem = options.stem;
    this.locks = options.lockStore;
    this.clock = options.clock ?? systemClock;
    this.tickInterval = positive(options.tickInterval ?? 1_000, 'tickInterval');
    this.lockTtl = positive(options.lockTtl ?? 5_000, 'lockTtl');
    this.catchUp = options.catchUp ?? 'once';
    if (this.catchUp !== 'once' && this.catchUp !== 'skip') throw new ConfigurationError('catchUp', `use 'once' or 'skip', got ${JSON.stringify(this.catchUp)}`);
    this.misfireGrace = options.misfireGrace ?? 60_000;
    this.batchSize = options.batchSize ?? 100;
    this.lockPrefix = options.lockPrefix ?? 'stem:schedule:';
    this.random = options.random ?? Math.random;
    this.tracing = StemTracing.from(options.tracing);
    this.id = options.id ?? `beat-${process.pid}-${randomBytes(4).toString('hex')}`;
    const signals = options.signals ?? signalsOf(options.stem);
    if (signals) bridgeBeatSignals(this.events, signals, this.id);
  }

  /** Whether the tick loop runs. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Whether no tick and no dispatch is under way in this replica (for health checks and tests). */
  get isIdle(): boolean {
    return !this.tickUnderWay && this.inFlight.size === 0;
  }

  /** Starts ticking: a tick now, then every `tickInterval`. Idempotent. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.events.emit('beat:started');
    this.tick();
  }

  /**
   * Stops ticking. By default it cancels pending jitter waits, waits for dispatches under way and
   * releases the locks it holds, so another replica takes over at once. With
   * `{ releaseLocks: false }` it abandons them as a crashed process would. Idempotent.
   */
  async stop(options: BeatStopOptions = {}): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    // NOTE: a tick still reading due entries must finish first, or the dispatches it starts after
    // this point would run unwatched while the stores are being closed.
    await this.ticking?.catch(() => undefined);
    const runs = [...this.inFlight.values()];
    for (const { control } of runs) {
      if (options.releaseLocks === false) control.abandoned = true;
      control.abort.abort();
    }
    if (options.releaseLocks !== false) {
      await this.ticking?.catch(() => undefined);
      await Promise.all(runs.map((r) => r.done));
    }
    if (wasRunning) this.events.emit('beat:stopped');
  }

  /** Same as {@link Beat.stop} with defaults, for lifecycle hooks. */
  close(): Promise<void> {
    return this.stop();
  }

  /**
   * Runs one tick by hand: finds due entries and dispatches them, resolving once every dispatch
   * started by this tick is recorded (jitter included, so advance a test clock meanwhile).
   * @returns the ids of the entries this replica dispatched
   */
  async runOnce(): Promise<string[]> {
    const dispatched: string[] = [];
    const off = this.events.on('schedule:dispatched', (d) => dispatched.push(d.entry.id));
    try {
      await Promise.all(await this.poll());
    } finally {
      off();
    }
    return dispatched;
  }

  private tick(): void {
    if (!this.running) return;
    this.tickUnderWay = true;
    const ticking = this.poll(true).catch((error: unknown) => this.events.emit('beat:error', asError(error)));
    this.ticking = ticking;
    void ticking.finally(() => {
      if (this.running) this.tickTimer = this.clock.setTimeout(() => this.tick(), this.tickInterval);
      this.tickUnderWay = false;
    });
  }

  /** Finds due entries and starts a dispatch for each not already under way here. */
  private async poll(onlyWhileRunning = false): Promise<Promise<void>[]> {
    const now = this.clock.now();
    const due = await this.store.due(now, this.batchSize);
    if (onlyWhileRunning && !this.running) return [];
    this.metric({ name: 'stem.scheduler.due.entries', value: due.length, unit: '1', attributes: { beat: this.id } });
    const started: Promise<void>[] = [];
    for (const entry of due) {
      if (this.inFlight.has(entry.id)) continue;
      const control: RunControl = { abort: new AbortController(), abandoned: false };
      const done = this.dispatch(entry, control)
        .catch((error: unknown) => this.events.emit('beat:error', asError(error)))
        .finally(() => this.inFlight.delete(entry.id));
      this.inFlight.set(entry.id, { control, done });
      started.push(done);
    }
    return started;
  }

  private async dispatch(due: ScheduleEntry, control: RunControl): Promise<void> {
    this.events.emit('schedule:due', due);
    const key = this.lockPrefix + due.id;
    if (!(await this.locks.acquire(key, this.id, this.lockTtl))) {
      this.events.emit('schedule:contended', due.id);
      this.metric({ name: 'stem.scheduler.lock.contended', value: 1, unit: '1', attributes: { schedule: due.id } });
      return;
    }
    let lockLost = false;
    const renewal = this.renewEvery(key, () => {
      lockLost = true;
    });
    try {
      if (control.abandoned) return;
      // NOTE: re-read under the lock: another replica may have dispatched this tick between our
      // due() query and the lock, and released the lock since.
      const entry = await this.store.get(due.id);
      const now = this.clock.now();
      if (!entry || !entry.enabled || entry.nextRunAt === null || entry.nextRunAt > now || control.abort.signal.aborted) return;
      const scheduledFor = entry.nextRunAt;
      const following = this.next(entry, scheduledFor, scheduledFor);
      const missed = (following !== null && following <= now) || now - scheduledFor > this.misfireGrace;
      if (missed && this.catchUp === 'skip') return await this.skip(entry, scheduledFor, now);

      const jitter = entry.jitter ? Math.floor(this.random() * entry.jitter) : 0;
      if (jitter > 0 && !(await this.sleep(jitter, control.abort.signal))) return;
      if (control.abandoned || control.abort.signal.aborted) return;
      if (lockLost || !(await this.locks.renew(key, this.id, this.lockTtl))) {
        this.events.emit('schedule:lock-lost', entry.id, scheduledFor);
        return;
      }
      if (control.abandoned) return;

      const executedAt = this.clock.now();
      const taskId = scheduledTaskId(entry.id, scheduledFor);
      let error: Error | undefined;
      try {
        await (this.tracing ? this.tracing.traceBeatDispatch(entry, scheduledFor, () => this.enqueue(entry, taskId, scheduledFor)) : this.enqueue(entry, taskId, scheduledFor));
      } catch (cause) {
        error = asError(cause);
      }
      if (control.abandoned) return;
      await this.record(entry, { scheduledFor, executedAt, jitter, taskId, error, catchUp: missed });
    } finally {
      renewal.cancel();
      if (!control.abandoned) await this.locks.release(key, this.id).catch(() => false);
    }
  }

  private enqueue(entry: ScheduleEntry, taskId: string, scheduledFor: number): Promise<string> {
    const options = entry.options ?? {};
    return this.stem.enqueue(entry.task, entry.args ?? {}, {
      ...options,
      taskId,
      headers: { ...options.headers, [BeatHeaders.scheduledFrom]: 'beat', [BeatHeaders.scheduleId]: entry.id },
      meta: { ...options.meta, [SCHEDULED_FOR_META]: scheduledFor },
    });
  }

  private async skip(entry: ScheduleEntry, scheduledFor: number, now: number): Promise<void> {
    const nextRunAt = this.next(entry, now, scheduledFor);
    const updated = await this.store.reschedule(entry.id, { version: entry.version, nextRunAt, ...(nextRunAt === null ? { enabled: false } : {}) });
    this.events.emit('schedule:skipped', updated, scheduledFor, nextRunAt);
    if (!updated.enabled) this.events.emit('schedule:disabled', updated);
  }

  private async record(read: ScheduleEntry, run: { scheduledFor: number; executedAt: number; jitter: number; taskId: string; error?: Error; catchUp: boolean }): Promise<void> {
    const drift = run.executedAt - run.scheduledFor;
    let entry = read;
    for (let attempt = 0; ; attempt++) {
      // NOTE: an on-time run moves to the tick after it, even if jitter made it late; a catch-up
      // run moves past now so missed ticks are not replayed. A failed clocked run stays due so
      // the next tick retries it instead of losing it.
      const nextRunAt = run.error && entry.spec.kind === 'clocked' ? run.scheduledFor : this.next(entry, run.catchUp ? run.executedAt : run.scheduledFor, run.scheduledFor);
      const execution: ScheduleExecution = {
        version: entry.version,
        scheduledFor: run.scheduledFor,
        executedAt: run.executedAt,
        success: !run.error,
        taskId: run.taskId,
        nextRunAt,
        drift,
        jitter: run.jitter,
        ...(run.error ? { error: run.error.message } : {}),
        ...(nextRunAt === null ? { enabled: false } : {}),
      };
      try {
        entry = await this.store.markExecuted(entry.id, execution);
        break;
      } catch (error) {
        if (!(error instanceof ScheduleConflictError) || attempt >= 3) throw error;
        // The definition was edited meanwhile; record the run on the new version unless someone
        // else already recorded this tick (then nextRunAt moved on).
        const current = await this.store.get(entry.id);
        if (!current || current.nextRunAt !== run.scheduledFor) {
          this.events.emit('schedule:conflict', entry.id, run.scheduledFor);
          return;
        }
        entry = current;
      }
    }
    const attributes = { schedule: entry.id, task: entry.task, kind: entry.spec.kind, catchUp: run.catchUp };
    if (run.error) {
      this.metric({ name: 'stem.scheduler.dispatch.failed', value: 1, unit: '1', attributes });
      this.events.emit('schedule:failed', entry, run.error, run.scheduledFor);
    } else {
      this.metric({ name: 'stem.scheduler.drift', value: drift, unit: 'ms', attributes });
      this.metric({ name: 'stem.scheduler.dispatch.success', value: 1, unit: '1', attributes });
      this.events.emit('schedule:dispatched', {
        entry,
        taskId: run.taskId,
        scheduledFor: run.scheduledFor,
        executedAt: run.executedAt,
        drift,
        jitter: run.jitter,
        catchUp: run.catchUp,
        nextRunAt: entry.nextRunAt,
      });
    }
    if (!entry.enabled) this.events.emit('schedule:disabled', entry);
  }

  private next(entry: ScheduleEntry, after: number, anchor: number): number | null {
    try {
      return nextRun(entry.spec, after, entry.timezone ?? 'UTC', anchor);
    } catch (error) {
      if (error instanceof InvalidScheduleError) throw new InvalidScheduleError(entry.id, error.reason, { cause: error });
      throw error;
    }
  }

  private renewEvery(key: string, onLost: () => void): TimerHandle {
    let timer: TimerHandle | undefined;
    let cancelled = false;
    const schedule = () => {
      timer = this.clock.setTimeout(() => {
        this.locks.renew(key, this.id, this.lockTtl).then(
          (held) => (held ? !cancelled && schedule() : onLost()),
          () => !cancelled && schedule(),
        );
      }, this.lockTtl / 2);
    };
    schedule();
    return {
      cancel: () => {
        cancelled = true;
        timer?.cancel();
      },
    };
  }

  /** Resolves `true` after `ms`, or `false` as soon as `signal` aborts. */
  private sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        timer.cancel();
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private metric(metric: BeatMetric): void {
    try {
      this.options.metrics?.(metric);
    } catch {
      // A broken metrics sink must not stop scheduling.
    }
  }
}

function positive(value: number, option: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigurationError(option, `Beat needs a positive number of ms, got ${value}`);
  return value;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
