import { CronExpressionParser } from 'cron-parser';
import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import { type Duration, parseDuration } from './duration.js';

/** A point in time: epoch ms, a `Date`, or an ISO-8601 string. */
export type Instant = number | Date | string;

/**
 * Runs every `every` ms on the grid `startAt + k·every`. Ticks missed while no Beat was running
 * are skipped (at most one catch-up run, see `BeatOptions.catchUp`).
 */
export interface IntervalSpec {
  readonly kind: 'interval';
  /** Period in ms (> 0). */
  readonly every: number;
  /** Epoch ms of the first tick; without it the grid starts at the previous run (or now). */
  readonly startAt?: number;
  /** Epoch ms after which there are no more ticks; the entry is then disabled. */
  readonly endAt?: number;
}

/** Runs on a cron expression (5 fields, or 6 with seconds first) in the entry's time zone. */
export interface CronSpec {
  readonly kind: 'cron';
  /** `'0 9 * * mon-fri'`, `'*\/15 * * * * *'`, or a macro such as `'@daily'`. */
  readonly expression: string;
}

/** The solar events a {@link SolarSpec} can follow. Dawn/dusk are the civil, nautical and astronomical twilights. */
export type SolarEvent = 'sunrise' | 'sunset' | 'solarNoon' | 'civilDawn' | 'civilDusk' | 'nauticalDawn' | 'nauticalDusk' | 'astronomicalDawn' | 'astronomicalDusk';

/** Every solar event name, for validation and CLIs. */
export const SOLAR_EVENTS: readonly SolarEvent[] = [
  'sunrise',
  'sunset',
  'solarNoon',
  'civilDawn',
  'civilDusk',
  'nauticalDawn',
  'nauticalDusk',
  'astronomicalDawn',
  'astronomicalDusk',
];

/**
 * Runs daily at a solar event at a place, shifted by `offset`. Days on which the event does not
 * happen (polar day or night) are skipped.
 */
export interface SolarSpec {
  readonly kind: 'solar';
  readonly event: SolarEvent;
  /** Degrees, −90..90 (north positive). */
  readonly latitude: number;
  /** Degrees, −180..180 (east positive). */
  readonly longitude: number;
  /** Ms added to the event time (negative: before it). @default 0 */
  readonly offset?: number;
}

/** Runs once at `runAt`; the entry is disabled afterwards. */
export interface ClockedSpec {
  readonly kind: 'clocked';
  /** Epoch ms. */
  readonly runAt: number;
}

/** A normalised schedule spec, as stored (plain JSON: numbers for times and durations). */
export type ScheduleSpec = IntervalSpec | CronSpec | SolarSpec | ClockedSpec;

/** Kinds of {@link ScheduleSpec}. */
export type ScheduleKind = ScheduleSpec['kind'];

/** What callers may write for an interval spec: durations as strings, times as Dates. */
export interface IntervalSpecInput {
  readonly kind: 'interval';
  readonly every: Duration;
  readonly startAt?: Instant;
  readonly endAt?: Instant;
}

/** What callers may write for a solar spec. */
export interface SolarSpecInput {
  readonly kind: 'solar';
  readonly event: SolarEvent;
  readonly latitude: number;
  readonly longitude: number;
  readonly offset?: Duration;
}

/** What callers may write for a clocked spec. */
export interface ClockedSpecInput {
  readonly kind: 'clocked';
  readonly runAt: Instant;
}

/** A spec as callers write it; {@link normalizeScheduleSpec} turns it into a {@link ScheduleSpec}. */
export type ScheduleSpecInput = IntervalSpecInput | CronSpec | SolarSpecInput | ClockedSpecInput;

/**
 * Builders for schedule specs.
 *
 * @example
 * Schedules.every('5m');
 * Schedules.cron('0 9 * * mon-fri');
 * Schedules.solar('sunset', 51.5074, -0.1278, { offset: '-30m' });
 * Schedules.at(new Date('2030-01-01T00:00:00Z'));
 */
export const Schedules = {
  /** Every `every` (ms or `'5m'`), optionally from `startAt` until `endAt`. */
  every(every: Duration, options: { startAt?: Instant; endAt?: Instant } = {}): IntervalSpecInput {
    return { kind: 'interval', every, ...options };
  },
  /** On a 5- or 6-field cron expression (time zone: the entry's `timezone`). */
  cron(expression: string): CronSpec {
    return { kind: 'cron', expression };
  },
  /** At a solar event at a place, shifted by `offset` (ms or `'-30m'`). */
  solar(event: SolarEvent, latitude: number, longitude: number, options: { offset?: Duration } = {}): SolarSpecInput {
    return { kind: 'solar', event, latitude, longitude, ...options };
  },
  /** Once, at `runAt`. */
  at(runAt: Instant): ClockedSpecInput {
    return { kind: 'clocked', runAt };
  },
} as const;

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@secondly', '@weekdays', '@weekends']);

/** Throws {@link InvalidScheduleError} unless `timezone` is an IANA time zone known to this runtime. */
export function assertTimezone(timezone: string, scheduleId = '(unnamed)'): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (error) {
    throw new InvalidScheduleError(scheduleId, `unknown time zone "${timezone}"; use an IANA name such as "UTC", "Europe/London" or "America/New_York"`, { cause: error });
  }
}

/** Parses and checks a cron expression; throws {@link InvalidScheduleError} naming the schedule and expression. */
export function parseCron(expression: string, timezone: string, currentDate: number, scheduleId = '(unnamed)') {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/);
  const isMacro = trimmed.startsWith('@');
  if (isMacro ? !CRON_MACROS.has(trimmed.toLowerCase()) : fields.length !== 5 && fields.length !== 6) {
    throw new InvalidScheduleError(
      scheduleId,
      `cron expression "${expression}" has ${isMacro ? 'an unknown macro' : `${fields.length} fields`}; use 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a macro such as @daily`,
    );
  }
  try {
    return CronExpressionParser.parse(isMacro ? trimmed.toLowerCase() : trimmed, { currentDate, tz: timezone });
  } catch (error) {
    throw new InvalidScheduleError(
      scheduleId,
      `cron expression "${expression}" cannot be parsed (${(error as Error).message}); check it with a cron reference such as crontab.guru`,
      { cause: error },
    );
  }
}

function instant(value: Instant | undefined, field: string, scheduleId: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (!Number.isFinite(ms)) throw new InvalidScheduleError(scheduleId, `${field} ${String(value)} is not a valid time; use epoch ms, a Date or an ISO-8601 string`);
  return ms;
}

function duration(value: Duration | undefined, field: string, scheduleId: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidScheduleError(scheduleId, `${field} ${JSON.stringify(value)} is not a duration; use ms or a string such as '30s', '5m', '1h30m'`);
  return ms;
}

/**
 * Checks a spec and returns its stored form: durations in ms, times in epoch ms. Cron expressions
 * and time zones are parsed here, so a bad one fails when the entry is added, not at run time.
 *
 * @param timezone IANA zone the entry's cron expression is read in. @default 'UTC'
 * @throws InvalidScheduleError naming `scheduleId` and the offending value
 */
export function normalizeScheduleSpec(input: ScheduleSpecInput, scheduleId = '(unnamed)', timezone = 'UTC'): ScheduleSpec {
  assertTimezone(timezone, scheduleId);
  switch (input?.kind) {
    case 'interval': {
      const every = duration(input.every, 'every', scheduleId)!;
      if (!(every > 0)) throw new InvalidScheduleError(scheduleId, `interval every must be positive, got ${JSON.stringify(input.every)}`);
      const startAt = instant(input.startAt, 'startAt', scheduleId);
      const endAt = instant(input.endAt, 'endAt', scheduleId);
      if (startAt !== undefined && endAt !== undefined && endAt < startAt) {
        throw new InvalidScheduleError(scheduleId, `interval endAt (${new Date(endAt).toISOString()}) is before startAt (${new Date(startAt).toISOString()})`);
      }
      return { kind: 'interval', every, ...(startAt !== undefined ? { startAt } : {}), ...(endAt !== undefined ? { endAt } : {}) };
    }
    case 'cron': {
      if (typeof input.expression !== 'string') throw new InvalidScheduleError(scheduleId, 'cron expression must be a string such as "0 9 * * *"');
      const parsed = parseCron(input.expression, timezone, 0, scheduleId);
      try {
        parsed.next();
      } catch (error) {
        throw new InvalidScheduleError(scheduleId, `cron expression "${input.expression}" never matches a date (${(error as Error).message})`, { cause: error });
      }
      return { kind: 'cron', expression: input.expression.trim() };
    }
    case 'solar': {
      if (!SOLAR_EVENTS.includes(input.event)) {
        throw new InvalidScheduleError(scheduleId, `unknown solar event "${String(input.event)}"; use one of ${SOLAR_EVENTS.join(', ')}`);
      }
      if (typeof input.latitude !== 'number' || !(Math.abs(input.latitude) <= 90))
        throw new InvalidScheduleError(scheduleId, `latitude ${String(input.latitude)} must be a number from -90 to 90`);
      if (typeof input.longitude !== 'number' || !(Math.abs(input.longitude) <= 180))
        throw new InvalidScheduleError(scheduleId, `longitude ${String(input.longitude)} must be a number from -180 to 180`);
      const offset = duration(input.offset, 'offset', scheduleId);
      return { kind: 'solar', event: input.event, latitude: input.latitude, longitude: input.longitude, ...(offset ? { offset } : {}) };
    }
    case 'clocked': {
      const runAt = instant(input.runAt, 'runAt', scheduleId);
      if (runAt === undefined) throw new InvalidScheduleError(scheduleId, 'clocked schedules need runAt (epoch ms, a Date or an ISO-8601 string)');
      return { kind: 'clocked', runAt };
    }
    default:
      throw new InvalidScheduleError(
        scheduleId,
        `unknown schedule kind ${JSON.stringify((input as { kind?: unknown })?.kind)}; use "interval", "cron", "solar" or "clocked" (or the Schedules.* builders)`,
      );
  }
}
