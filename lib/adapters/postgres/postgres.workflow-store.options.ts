import type { Duration } from '../../core/beat/duration.js';
import type { Clock } from '../../core/utils/clock.js';
import type { PostgresConnectOptions } from './postgres.options.js';

/** Options of {@link PostgresWorkflowStore.connect}. */
export interface PostgresWorkflowStoreOptions extends PostgresConnectOptions {
  /** Time of every stored stamp and lease. @default systemClock */
  readonly clock?: Clock;
  /** How long completed, failed and cancelled runs (and their checkpoints) are kept; `false` keeps them. @default '7d' */
  readonly retention?: Duration | false;
  /** How often expired runs are deleted, ms; `0` leaves it to {@link PostgresWorkflowStore.sweepExpired}. @default 60000 */
  readonly sweepInterval?: number;
  /** How often `watch` re-reads a run when no notification came (the fallback of LISTEN/NOTIFY), ms. @default 5000 */
  readonly watchPollInterval?: number;
}

/** What every suspension of an executor may carry. */
export type SuspendOptions = { readonly data?: unknown; readonly iteration?: number; readonly ownerId?: string };
/** A suspension on an event or signal, with its deadline. */
export type WaitOptions = SuspendOptions & { readonly deadline?: number | null; readonly requestedDeadline?: number | null };

/** The suspension data a run row keeps: what it waits for, since when, until when. */
export function suspensionData(type: string, step: string, now: number, resumeAt: number | null, requestedResumeAt: number | null, options: SuspendOptions, extra: object = {}) {
  return {
    type,
    step,
    ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
    suspendedAt: now,
    resumeAt,
    requestedResumeAt,
    ...extra,
    ...(options.data !== undefined ? { data: options.data } : {}),
  };
}
