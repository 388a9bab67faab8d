import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import { parseCron, type ScheduleSpec } from './schedule-spec.js';
import { nextSolarEvent } from './solar.js';

/**
 * The first run of `spec` strictly after `after` (epoch ms), or `null` when the schedule has no
 * more runs (a clocked time in the past, an interval past its `endAt`). Pure: the same inputs
 * always give the same answer.
 *
 * - interval: the next point of the grid `startAt + k·every` (anchored at `anchor` when there is
 *   no `startAt`, else at `after`), so missed ticks are skipped rather than replayed;
 * - cron: read in `timezone`; a wall time that does not exist on a spring-forward day runs at the
 *   shifted time, and one that happens twice on a fall-back day runs once;
 * - solar: the next day's event at the place, plus `offset`;
 * - clocked: `runAt` if it is still ahead.
 *
 * @param timezone IANA zone for cron expressions. @default 'UTC'
 * @param anchor grid origin of an interval without `startAt`, usually the previous scheduled run
 * @throws InvalidScheduleError for a spec that cannot be evaluated (e.g. a bad cron expression)
 *
 * @example
 * nextRun({ kind: 'cron', expression: '0 9 * * *' }, Date.now(), 'Europe/London');
 */
export function nextRun(spec: ScheduleSpec, after: number, timezone = 'UTC', anchor?: number): number | null {
  switch (spec.kind) {
    case 'interval': {
      const origin = spec.startAt ?? anchor ?? after;
      const steps = after < origin ? 0 : Math.floor((after - origin) / spec.every) + 1;
      const next = origin + steps * spec.every;
      return spec.endAt !== undefined && next > spec.endAt ? null : next;
    }
    case 'cron': {
      const expression = parseCron(spec.expression, timezone, after);
      try {
        return expression.next().getTime();
      } catch (error) {
        throw new InvalidScheduleError('(unnamed)', `cron expression "${spec.expression}" has no run after ${new Date(after).toISOString()} (${(error as Error).message})`, {
          cause: error,
        });
      }
    }
    case 'solar':
      return nextSolarEvent(spec.event, spec.latitude, spec.longitude, spec.offset ?? 0, after);
    case 'clocked':
      return spec.runAt > after ? spec.runAt : null;
  }
}

/**
 * The next `count` runs of `spec` after `after`, for previews and `schedule dry-run`.
 *
 * @example
 * upcomingRuns({ kind: 'interval', every: 60_000 }, Date.now(), 3);
 */
export function upcomingRuns(spec: ScheduleSpec, after: number, count: number, timezone = 'UTC'): number[] {
  const runs: number[] = [];
  let cursor = after;
  let anchor: number | undefined;
  while (runs.length < count) {
    const next = nextRun(spec, cursor, timezone, anchor);
    if (next === null) break;
    runs.push(next);
    cursor = next;
    anchor ??= spec.kind === 'interval' ? after : undefined;
  }
  return runs;
}
