import type { Duration } from '../../core/beat/duration.js';
import type { Instant, SolarEvent } from '../../core/beat/schedule-spec.js';
import type { ScheduleEnqueueOptions } from '../../core/contracts/schedule-store.js';
import { STEM_SCHEDULE_METADATA } from '../stem.constants.js';

/** Options of {@link Schedule}. Give exactly one of `every`, `cron`, `solar`, `at`. */
export interface ScheduleDecoratorOptions {
  /** Unique schedule id, e.g. `reports.daily`. */
  readonly id: string;
  /** Run every interval: ms or `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
  readonly every?: Duration;
  /** With `every`: first run at or after this time. */
  readonly startAt?: Instant;
  /** With `every`: no runs after this time. */
  readonly endAt?: Instant;
  /** A 5-field (minute) or 6-field (second) cron expression, in `timezone`. */
  readonly cron?: string;
  /** At a solar event at a place, optionally shifted by `offset` (e.g. `'-30m'`). */
  readonly solar?: { readonly event: SolarEvent; readonly latitude: number; readonly longitude: number; readonly offset?: Duration };
  /** Once, at this time; the entry is disabled after it ran. */
  readonly at?: Instant;
  /** IANA time zone for cron. @default 'UTC' */
  readonly timezone?: string;
  /** Task arguments of every run. @default {} */
  readonly args?: unknown;
  /** Random delay 0..jitter before each run. @default 0 */
  readonly jitter?: Duration;
  /** @default true */
  readonly enabled?: boolean;
  /** Enqueue options of every run (queue, priority, maxRetries, expires, ...). */
  readonly options?: ScheduleEnqueueOptions;
  readonly description?: string;
  /** Task to run; required when the method is not itself a `@Task()`. */
  readonly task?: string;
}

/**
 * Puts a task on Beat. On a `@Task()` method it schedules that task; elsewhere give `task`.
 * Repeat it for several schedules. Entries are upserted into the schedule store when a Beat
 * process (`StemModule.forRoot({ beat: true })`) boots; exactly one replica dispatches each tick.
 *
 * @example
 * @Schedule({ id: 'digest.morning', cron: '0 8 * * mon-fri', timezone: 'Europe/London' })
 * @Task({ name: 'digest.send' })
 * async sendDigest() { ... }
 */
export function Schedule(options: ScheduleDecoratorOptions): MethodDecorator {
  return (_target, _key, descriptor) => {
    const fn = descriptor.value as object;
    const existing = (Reflect.getMetadata(STEM_SCHEDULE_METADATA, fn) as ScheduleDecoratorOptions[] | undefined) ?? [];
    Reflect.defineMetadata(STEM_SCHEDULE_METADATA, [...existing, options], fn);
    return descriptor;
  };
}
