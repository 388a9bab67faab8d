/** A duration: milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'2d'`, `'-15m'`. */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Parses a {@link Duration} into milliseconds, or returns `undefined` when it is not one.
 *
 * @example
 * parseDuration('1h30m'); // 5_400_000
 * parseDuration('-15m');  // -900_000
 * parseDuration(250);     // 250
 */
export function parseDuration(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = DURATION.exec(value.trim().replace(/\s+/g, ''));
  if (!match) return undefined;
  let total = 0;
  for (const [, amount, unit] of match[2]!.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return match[1] ? -total : total;
}
