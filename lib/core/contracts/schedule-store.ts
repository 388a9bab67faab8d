import type { ScheduleSpec } from '../beat/schedule-spec.js';
import type { EnqueueOptions } from '../task-options.js';

/** Enqueue options a schedule entry may carry (`taskId` is chosen per run by Beat). */
export type ScheduleEnqueueOptions = Omit<EnqueueOptions, 'taskId'>;

/** Where an entry was defined: in code (`@Schedule`, synced at bootstrap) or at run time. */
export type ScheduleSource = 'code' | 'runtime';

/** The part of a schedule entry its owner writes: what to run and when. */
export interface ScheduleDefinition {
  /** Unique id, e.g. `reports.daily`. */
  readonly id: string;
  /** Task name passed to `stem.enqueue`. */
  readonly task: string;
  /** Task arguments. @default {} */
  readonly args?: unknown;
  /** Enqueue options of every run (queue, priority, retries, ...). */
  readonly options?: ScheduleEnqueueOptions;
  /** When it runs (normalised). */
  readonly spec: ScheduleSpec;
  /** IANA time zone for cron expressions. @default 'UTC' */
  readonly timezone?: string;
  /** Disabled entries are never due. */
  readonly enabled: boolean;
  /** Each run is delayed by a random 0..`jitter` ms, spreading load. @default 0 */
  readonly jitter?: number;
  readonly description?: string;
  /** @default 'runtime' */
  readonly source?: ScheduleSource;
  /** Free-form data for tools. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A stored schedule entry: its definition plus the run state Beat records. */
export interface ScheduleEntry extends ScheduleDefinition {
  /** Epoch ms of the next run; `null` when there is none (finished or never). */
  readonly nextRunAt: number | null;
  /** Epoch ms the last run was dispatched. */
  readonly lastRunAt?: number;
  /** Epoch ms the last run was scheduled for. */
  readonly lastScheduledFor?: number;
  /** Epoch ms of the last successful dispatch. */
  readonly lastSuccessAt?: number;
  /** Epoch ms of the last failed dispatch. */
  readonly lastErrorAt?: number;
  /** Message of the last failed dispatch (kept after later successes; compare with `lastErrorAt`). */
  readonly lastError?: string;
  /** Task id of the last dispatched run. */
  readonly lastTaskId?: string;
  /** Jitter in ms applied to the last run. */
  readonly lastJitter?: number;
  /** `executedAt − scheduledFor` of the last run, in ms. */
  readonly drift?: number;
  /** Runs dispatched so far (successful or not). */
  readonly runCount: number;
  /** Failed dispatches so far. */
  readonly failureCount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Incremented by every write; writers pass the version they read (optimistic concurrency). */
  readonly version: number;
}

/** An {@link ScheduleStore.upsert}: a definition and its next run. */
export interface ScheduleUpsert extends ScheduleDefinition {
  readonly nextRunAt: number | null;
}

/** Options of {@link ScheduleStore.upsert}. */
export interface ScheduleUpsertOptions {
  /**
   * Write only if the stored version is this one (`0`: only if the entry does not exist yet);
   * otherwise throw `ScheduleConflictError`. Without it the write is unconditional.
   */
  readonly expectedVersion?: number;
}

/** The outcome of one run, for {@link ScheduleStore.markExecuted}. */
export interface ScheduleExecution {
  /** The version read before dispatching; a different stored version → `ScheduleConflictError`. */
  readonly version: number;
  /** Epoch ms the run was due. */
  readonly scheduledFor: number;
  /** Epoch ms it was dispatched. */
  readonly executedAt: number;
  /** Whether the enqueue succeeded. */
  readonly success: boolean;
  /** Error message when it did not. */
  readonly error?: string;
  /** The enqueued task id. */
  readonly taskId?: string;
  /** Next run, or `null` when there is none. */
  readonly nextRunAt: number | null;
  /** `executedAt − scheduledFor` in ms. */
  readonly drift: number;
  /** Jitter applied, in ms. */
  readonly jitter?: number;
  /** Set to `false` to disable the entry (a clocked entry after its run). */
  readonly enabled?: boolean;
}

/** A change of the next run without a run (missed ticks skipped, re-enabling). */
export interface ScheduleReschedule {
  /** The version read; a different stored version → `ScheduleConflictError`. */
  readonly version: number;
  readonly nextRunAt: number | null;
  readonly enabled?: boolean;
}

/** Filters of {@link ScheduleStore.list}. */
export interface ScheduleListFilter {
  readonly enabled?: boolean;
  readonly source?: ScheduleSource;
}

/**
 * Persists schedule entries for Beat. Every write bumps `version`; conditional writes
 * (`expectedVersion`, `markExecuted`, `reschedule`) fail with `ScheduleConflictError` when
 * another writer got there first, which is how two Beat replicas never record the same tick twice.
 * Checked by `runScheduleStoreContractTests`.
 */
export interface ScheduleStore {
  /** Short adapter name (`memory`, `redis`, `postgres`). */
  readonly name: string;
  /**
   * Creates an entry (version 1, run state empty) or replaces an entry's definition and next run,
   * keeping its run state (`lastRunAt`, `runCount`, `lastError`, ...) and `createdAt`.
   */
  upsert(entry: ScheduleUpsert, options?: ScheduleUpsertOptions): Promise<ScheduleEntry>;
  /** Deletes an entry; `false` when there was none. */
  remove(id: string): Promise<boolean>;
  /** One entry, or `null`. */
  get(id: string): Promise<ScheduleEntry | null>;
  /** Entries ordered by id. */
  list(filter?: ScheduleListFilter): Promise<ScheduleEntry[]>;
  /** Enabled entries with `nextRunAt ≤ now`, earliest first, at most `limit` (default 100). */
  due(now: number, limit?: number): Promise<ScheduleEntry[]>;
  /** Records a run: last run, next run, counters, last error, drift; bumps the version. */
  markExecuted(id: string, execution: ScheduleExecution): Promise<ScheduleEntry>;
  /** Moves the next run (and optionally `enabled`) without recording a run; bumps the version. */
  reschedule(id: string, change: ScheduleReschedule): Promise<ScheduleEntry>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
