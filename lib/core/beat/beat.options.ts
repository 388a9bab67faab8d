import type { StemSignals } from '../signals/stem-signals.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { ScheduleStore } from '../contracts/schedule-store.js';
import type { EnqueueOptions } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { TracingSetting } from '../observability/stem-tracing.js';

/** What Beat needs from a producer: the normal enqueue path (a `Stem` fits). */
export interface BeatEnqueuer {
  enqueue(name: string, args?: unknown, options?: EnqueueOptions): Promise<string>;
}

/** One measurement reported by Beat, e.g. `stem.scheduler.drift`. */
export interface BeatMetric {
  /** `stem.scheduler.drift` (ms), `stem.scheduler.dispatch.{success,failed}`, `stem.scheduler.due.entries`, `stem.scheduler.lock.contended`. */
  readonly name: string;
  readonly value: number;
  readonly unit: 'ms' | '1';
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** Receives Beat's measurements; wire it to OpenTelemetry, Prometheus or logs. */
export type BeatMetricsHook = (metric: BeatMetric) => void;

/** What Beat does with ticks missed while no replica was running. */
export type CatchUpPolicy = 'once' | 'skip';

/** Options of {@link Beat}. */
export interface BeatOptions {
  readonly store: ScheduleStore;
  /** Dispatches runs through `enqueue` (routing, validation, queued status, entry options). */
  readonly stem: BeatEnqueuer;
  /** Where `schedule-entry-due/-dispatched/-failed` signals go. @default `stem.signals` when `stem` is a `Stem` */
  readonly signals?: StemSignals;
  /** Shared by every replica; each due entry is locked while one replica dispatches it. */
  readonly lockStore: LockStore;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Ms between ticks. @default 1000 */
  readonly tickInterval?: number;
  /** TTL of an entry's lock in ms, renewed every half TTL while dispatching; a dead replica's locks lapse after it. @default 5000 */
  readonly lockTtl?: number;
  /**
   * Missed ticks after downtime: `'once'` runs the entry once and resumes its schedule; `'skip'`
   * drops them (a missed clocked entry is disabled unrun). Never a burst. @default 'once'
   */
  readonly catchUp?: CatchUpPolicy;
  /** A run later than this many ms counts as missed (as does one whose next tick is also due). @default 60000 */
  readonly misfireGrace?: number;
  /** Entries fetched per tick. @default 100 */
  readonly batchSize?: number;
  /** Identifies this replica as lock owner. @default `beat-<pid>-<random>` */
  readonly id?: string;
  /** Prefix of lock keys; the key is `<prefix><schedule id>`. @default 'stem:schedule:' */
  readonly lockPrefix?: string;
  /** Receives `stem.scheduler.drift` and the dispatch counters. */
  readonly metrics?: BeatMetricsHook;
  /** Random source for jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * A `beat <schedule id>` span around each dispatch (the task's `send` span is its child).
   * `false` turns it off.
   * @default true (the global tracer provider: a no-op until an OpenTelemetry SDK registers one)
   */
  readonly tracing?: TracingSetting;
}

/** Options of {@link Beat.stop}. */
export interface BeatStopOptions {
  /**
   * Release held entry locks so another replica takes over at once. `false` abandons them as a
   * crashed process would: they lapse after `lockTtl`. @default true
   */
  readonly releaseLocks?: boolean;
}
