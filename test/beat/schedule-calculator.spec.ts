import { describe, expect, it } from 'vitest';
import { InvalidScheduleError, nextRun, normalizeScheduleSpec, parseDuration, type ScheduleSpec, Schedules, type SolarEvent, upcomingRuns } from '../../lib/core/beat/index.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const runs = (spec: ScheduleSpec, from: string, count: number, tz?: string) => upcomingRuns(spec, at(from), count, tz).map((ms) => iso(ms));
const cron = (expression: string) => normalizeScheduleSpec(Schedules.cron(expression));
const MINUTE = 60_000;

describe('durations', () => {
  it('parses ms, unit strings, compound and negative durations', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('-15m')).toBe(-900_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('five minutes')).toBeUndefined();
  });
});

describe('interval schedules', () => {
  it('runs on the grid startAt + k·every, starting at startAt', () => {
    const spec = normalizeScheduleSpec(Schedules.every('5m', { startAt: '2030-01-01T00:00:00Z' }));
    expect(spec).toEqual({ kind: 'interval', every: 300_000, startAt: at('2030-01-01T00:00:00Z') });
    expect(iso(nextRun(spec, at('2029-12-31T23:00:00Z')))).toBe('2030-01-01T00:00:00.000Z');
    expect(iso(nextRun(spec, at('2030-01-01T00:00:00Z')))).toBe('2030-01-01T00:05:00.000Z');
    expect(runs(spec, '2030-01-01T00:07:00Z', 3)).toEqual(['2030-01-01T00:10:00.000Z', '2030-01-01T00:15:00.000Z', '2030-01-01T00:20:00.000Z']);
  });

  it('skips ticks missed during downtime instead of replaying them', () => {
    const spec = normalizeScheduleSpec(Schedules.every(60_000));
    const previous = at('2030-01-01T00:00:00Z');
    // Back after 10.5 minutes: the next run is the next grid point, not the 10 missed ones.
    expect(iso(nextRun(spec, previous + 10.5 * MINUTE, 'UTC', previous))).toBe('2030-01-01T00:11:00.000Z');
    // Without an anchor the grid starts now.
    expect(iso(nextRun(spec, previous))).toBe('2030-01-01T00:01:00.000Z');
  });

  it('has no runs after endAt', () => {
    const spec = normalizeScheduleSpec(Schedules.every('1h', { startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-01T02:00:00Z' }));
    expect(runs(spec, '2029-12-31T23:59:00Z', 10)).toEqual(['2030-01-01T00:00:00.000Z', '2030-01-01T01:00:00.000Z', '2030-01-01T02:00:00.000Z']);
    expect(nextRun(spec, at('2030-01-01T02:00:00Z'))).toBeNull();
  });
});

describe('cron schedules', () => {
  it('supports 5 fields, 6 fields with seconds, names and macros', () => {
    expect(runs(cron('0 9 * * mon-fri'), '2025-10-24T12:00:00Z', 3)).toEqual(['2025-10-27T09:00:00.000Z', '2025-10-28T09:00:00.000Z', '2025-10-29T09:00:00.000Z']);
    expect(runs(cron('*/15 * * * * *'), '2025-01-01T09:00:00.500Z', 3)).toEqual(['2025-01-01T09:00:15.000Z', '2025-01-01T09:00:30.000Z', '2025-01-01T09:00:45.000Z']);
    expect(runs(cron('@daily'), '2025-01-01T09:00:00Z', 1)).toEqual(['2025-01-02T00:00:00.000Z']);
    expect(iso(nextRun(cron('0 9 * * *'), at('2025-01-01T09:00:00Z')))).toBe('2025-01-02T09:00:00.000Z');
  });

  it('reads the expression in the time zone: 09:00 in New York is 14:00Z in winter, 13:00Z in summer', () => {
    expect(runs(cron('0 9 * * *'), '2025-03-08T00:00:00Z', 2, 'America/New_York')).toEqual(['2025-03-08T14:00:00.000Z', '2025-03-09T13:00:00.000Z']);
  });

  it('America/New_York spring forward (2025-03-09, 02:00 → 03:00): a nonexistent 02:30 runs once at 03:30 EDT', () => {
    expect(runs(cron('30 2 * * *'), '2025-03-08T12:00:00Z', 3, 'America/New_York')).toEqual([
      '2025-03-09T07:30:00.000Z', // 03:30 EDT: 02:30 does not exist that night
      '2025-03-10T06:30:00.000Z', // 02:30 EDT
      '2025-03-11T06:30:00.000Z',
    ]);
    // Hourly jobs skip the missing hour: 01:00 EST is followed by 03:00 EDT, one hour later.
    expect(runs(cron('0 * * * *'), '2025-03-09T05:30:00Z', 3, 'America/New_York')).toEqual(['2025-03-09T06:00:00.000Z', '2025-03-09T07:00:00.000Z', '2025-03-09T08:00:00.000Z']);
  });

  it('America/New_York fall back (2025-11-02, 02:00 → 01:00): a repeated 01:30 runs once', () => {
    expect(runs(cron('30 1 * * *'), '2025-11-01T12:00:00Z', 2, 'America/New_York')).toEqual([
      '2025-11-02T05:30:00.000Z', // 01:30 EDT, the first 01:30 only
      '2025-11-03T06:30:00.000Z', // 01:30 EST
    ]);
    // Hourly jobs keep an hour apart in real time through the repeated hour.
    expect(runs(cron('0 * * * *'), '2025-11-02T04:30:00Z', 3, 'America/New_York')).toEqual(['2025-11-02T05:00:00.000Z', '2025-11-02T06:00:00.000Z', '2025-11-02T07:00:00.000Z']);
  });

  it('Europe/London: 01:30 is skipped forward on 2025-03-30 and runs once on 2025-10-26', () => {
    expect(runs(cron('30 1 * * *'), '2025-03-29T12:00:00Z', 2, 'Europe/London')).toEqual([
      '2025-03-30T01:30:00.000Z', // 02:30 BST: clocks jumped 01:00 GMT → 02:00 BST
      '2025-03-31T00:30:00.000Z', // 01:30 BST
    ]);
    expect(runs(cron('30 1 * * *'), '2025-10-25T12:00:00Z', 2, 'Europe/London')).toEqual([
      '2025-10-26T00:30:00.000Z', // 01:30 BST, not again at 01:30 GMT
      '2025-10-27T01:30:00.000Z', // 01:30 GMT
    ]);
  });
});

describe('solar schedules', () => {
  const LONDON = { latitude: 51.5074, longitude: -0.1278 };
  const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };
  const solar = (event: SolarEvent, place: { latitude: number; longitude: number }, offset?: string) =>
    normalizeScheduleSpec(Schedules.solar(event, place.latitude, place.longitude, offset ? { offset } : {}));
  const withinAMinute = (actual: number | null, published: string) => {
    expect(actual).not.toBeNull();
    expect(Math.abs(actual! - at(published)), `${iso(actual)} vs ${published}`).toBeLessThanOrEqual(MINUTE);
  };

  it('London, 2025-06-21: sunrise 04:43 BST, sunset 21:21 BST, solar noon 13:02 BST (timeanddate.com / HM Nautical Almanac Office)', () => {
    const from = at('2025-06-21T00:00:00+01:00');
    withinAMinute(nextRun(solar('sunrise', LONDON), from), '2025-06-21T04:43:00+01:00');
    withinAMinute(nextRun(solar('sunset', LONDON), from), '2025-06-21T21:21:00+01:00');
    withinAMinute(nextRun(solar('solarNoon', LONDON), from), '2025-06-21T13:02:00+01:00');
  });

  it('London, 2025-12-21: sunrise 08:04 GMT, sunset 15:53 GMT (timeanddate.com)', () => {
    const from = at('2025-12-21T00:00:00Z');
    withinAMinute(nextRun(solar('sunrise', LONDON), from), '2025-12-21T08:04:00Z');
    withinAMinute(nextRun(solar('sunset', LONDON), from), '2025-12-21T15:53:00Z');
  });

  it('New York, 2025-06-21: sunrise 05:25 EDT, sunset 20:31 EDT (timeanddate.com)', () => {
    const from = at('2025-06-21T00:00:00-04:00');
    withinAMinute(nextRun(solar('sunrise', NEW_YORK), from), '2025-06-21T05:25:00-04:00');
    withinAMinute(nextRun(solar('sunset', NEW_YORK), from), '2025-06-21T20:31:00-04:00');
  });

  it('orders the twilights around the day and applies the offset', () => {
    const from = at('2025-03-20T04:00:00Z');
    const order: SolarEvent[] = ['astronomicalDawn', 'nauticalDawn', 'civilDawn', 'sunrise', 'solarNoon', 'sunset', 'civilDusk', 'nauticalDusk', 'astronomicalDusk'];
    const times = order.map((event) => nextRun(solar(event, NEW_YORK), from)!);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times.at(-1)! - times[0]!).toBeLessThan(24 * 60 * MINUTE);
    const sunset = nextRun(solar('sunset', NEW_YORK), from)!;
    expect(nextRun(solar('sunset', NEW_YORK, '-30m'), from)).toBe(sunset - 30 * MINUTE);
  });

  it("moves to the next day after today's event, and skips days without the event (midnight sun)", () => {
    const today = nextRun(solar('sunrise', LONDON), at('2025-06-21T00:00:00Z'))!;
    const tomorrow = nextRun(solar('sunrise', LONDON), today)!;
    expect(tomorrow - today).toBeGreaterThan(23.9 * 60 * MINUTE);
    expect(tomorrow - today).toBeLessThan(24.1 * 60 * MINUTE);
    // Tromsø has midnight sun from late May to late July: the next sunrise is after it ends.
    const tromso = normalizeScheduleSpec(Schedules.solar('sunrise', 69.6496, 18.956));
    const next = nextRun(tromso, at('2025-06-21T00:00:00Z'))!;
    expect(next).toBeGreaterThan(at('2025-07-15T00:00:00Z'));
    expect(next).toBeLessThan(at('2025-08-01T00:00:00Z'));
  });
});

describe('clocked schedules', () => {
  it('runs once at runAt, then never', () => {
    const spec = normalizeScheduleSpec(Schedules.at(new Date('2030-05-01T12:00:00Z')));
    expect(spec).toEqual({ kind: 'clocked', runAt: at('2030-05-01T12:00:00Z') });
    expect(runs(spec, '2030-01-01T00:00:00Z', 5)).toEqual(['2030-05-01T12:00:00.000Z']);
    expect(nextRun(spec, at('2030-05-01T12:00:00Z'))).toBeNull();
  });
});

describe('invalid specs', () => {
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidScheduleError);
      return (error as Error).message;
    }
    throw new Error('expected an InvalidScheduleError');
  };

  it('names the schedule and the expression of a bad cron', () => {
    expect(failure(() => normalizeScheduleSpec(Schedules.cron('61 * * * *'), 'reports.hourly'))).toMatch(/Schedule "reports\.hourly".*"61 \* \* \* \*".*got value 61/);
    expect(failure(() => normalizeScheduleSpec(Schedules.cron('* * *'), 'x'))).toMatch(/"\* \* \*" has 3 fields; use 5 fields/);
    expect(failure(() => normalizeScheduleSpec(Schedules.cron('0 0 30 2 *'), 'feb30'))).toMatch(/"feb30".*"0 0 30 2 \*".*day of month/);
    expect(failure(() => normalizeScheduleSpec(Schedules.cron('@fortnightly'), 'x'))).toMatch(/unknown macro/);
  });

  it('rejects unknown time zones, kinds, events, coordinates, durations and times', () => {
    expect(failure(() => normalizeScheduleSpec(Schedules.cron('0 9 * * *'), 'tz', 'Mars/Olympus'))).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(failure(() => normalizeScheduleSpec({ kind: 'weekly' } as never, 'k'))).toMatch(/unknown schedule kind "weekly"/);
    expect(failure(() => normalizeScheduleSpec(Schedules.solar('moonrise' as SolarEvent, 0, 0), 's'))).toMatch(/unknown solar event "moonrise"/);
    expect(failure(() => normalizeScheduleSpec(Schedules.solar('sunrise', 95, 0), 's'))).toMatch(/latitude 95/);
    expect(failure(() => normalizeScheduleSpec(Schedules.every('often'), 'i'))).toMatch(/every "often" is not a duration/);
    expect(failure(() => normalizeScheduleSpec(Schedules.every(0), 'i'))).toMatch(/must be positive/);
    expect(failure(() => normalizeScheduleSpec(Schedules.at('not a date'), 'c'))).toMatch(/runAt not a date is not a valid time/);
  });
});
