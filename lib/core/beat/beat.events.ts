import type { ScheduleEntry } from '../contracts/schedule-store.js';

/** One dispatched run. */
export interface ScheduleDispatch {
  readonly entry: ScheduleEntry;
  readonly taskId: string;
  /** Epoch ms the run was due. */
  readonly scheduledFor: number;
  /** Epoch ms it was enqueued. */
  readonly executedAt: number;
  /** `executedAt − scheduledFor` in ms. */
  readonly drift: number;
  /** Random delay applied, in ms. */
  readonly jitter: number;
  /** The run stands in for ticks missed while no Beat was running (`catchUp: 'once'`). */
  readonly catchUp: boolean;
  /** The next run, or `null` when the entry is finished. */
  readonly nextRunAt: number | null;
}

/** Events of a {@link Beat}, one doc line each. */
export type BeatEvents = {
  /** A replica started ticking. */
  'beat:started': [];
  /** A replica stopped. */
  'beat:stopped': [];
  /** The store or lock store failed during a tick; Beat keeps ticking. */
  'beat:error': [error: Error];
  /** An entry was found due; this replica will try to dispatch it. */
  'schedule:due': [entry: ScheduleEntry];
  /** A run was enqueued and recorded. */
  'schedule:dispatched': [dispatch: ScheduleDispatch];
  /** Enqueueing a run failed (recorded as `lastError`); the entry moves on to its next run. */
  'schedule:failed': [entry: ScheduleEntry, error: Error, scheduledFor: number];
  /** Missed ticks were skipped without a run (`catchUp: 'skip'`). */
  'schedule:skipped': [entry: ScheduleEntry, scheduledFor: number, nextRunAt: number | null];
  /** An entry has no more runs (clocked after its run, interval past `endAt`) and was disabled. */
  'schedule:disabled': [entry: ScheduleEntry];
  /** Another replica holds the entry's lock; this one leaves it alone. */
  'schedule:contended': [id: string];
  /** The entry's lock lapsed before dispatch (e.g. a stalled process); the run was left to the new holder. */
  'schedule:lock-lost': [id: string, scheduledFor: number];
  /** The entry changed while this replica dispatched it and the run could not be recorded. */
  'schedule:conflict': [id: string, scheduledFor: number];
};
