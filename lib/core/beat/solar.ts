import SunCalc from 'suncalc';
import type { SolarEvent } from './schedule-spec.js';

const DAY_MS = 86_400_000;

/** The suncalc field of each solar event. */
const SUNCALC_FIELD: Readonly<Record<SolarEvent, keyof SunCalc.GetTimesResult>> = {
  sunrise: 'sunrise',
  sunset: 'sunset',
  solarNoon: 'solarNoon',
  civilDawn: 'dawn',
  civilDusk: 'dusk',
  nauticalDawn: 'nauticalDawn',
  nauticalDusk: 'nauticalDusk',
  astronomicalDawn: 'nightEnd',
  astronomicalDusk: 'night',
};

/**
 * ΔT = TT − UT in ms for the year of `epochMs` (Espenak & Meeus polynomials).
 * NOTE: suncalc 1.x evaluates its formulas on UT as if it were TT, which puts every event about
 * ΔT (~70 s in the 2020s) late; subtracting ΔT brings results within seconds of the NOAA
 * calculator and within a minute of published almanac times.
 */
function deltaTMs(epochMs: number): number {
  const year = new Date(epochMs).getUTCFullYear() + 0.5;
  if (year >= 2005 && year < 2050) {
    const t = year - 2000;
    return (62.92 + 0.32217 * t + 0.005589 * t * t) * 1_000;
  }
  const u = (year - 1820) / 100;
  return (-20 + 32 * u * u) * 1_000;
}

/** Epoch ms of `event` on the solar day nearest to `dayMs` at a place, or `null` when it does not happen that day. */
export function solarEventTime(event: SolarEvent, latitude: number, longitude: number, dayMs: number): number | null {
  const time = SunCalc.getTimes(new Date(dayMs), latitude, longitude)[SUNCALC_FIELD[event]].getTime();
  return Number.isFinite(time) ? Math.round(time - deltaTMs(time)) : null;
}

/**
 * The first occurrence of `event` (shifted by `offset` ms) strictly after `after`, searching up to
 * a year ahead (events can be absent for months near the poles); `null` if there is none.
 */
export function nextSolarEvent(event: SolarEvent, latitude: number, longitude: number, offset: number, after: number): number | null {
  // NOTE: suncalc picks the solar day nearest to the given instant, so probing at local solar
  // noon of consecutive days visits every day exactly once.
  const localNoonShift = (-longitude / 360) * DAY_MS;
  const firstNoon = Math.floor((after - offset - localNoonShift) / DAY_MS) * DAY_MS + DAY_MS / 2 + localNoonShift;
  for (let day = -1; day <= 370; day++) {
    const time = solarEventTime(event, latitude, longitude, firstNoon + day * DAY_MS);
    if (time !== null && time + offset > after) return time + offset;
  }
  return null;
}
