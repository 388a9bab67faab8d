/**
 * Lines of a plain-text table: a header row, then one row per item, columns padded to their
 * widest cell and separated by two spaces (the last column is not padded).
 *
 * @example
 * table(['ID', 'STATUS'], [['r1', 'running']]); // ['ID  STATUS', 'r1  running']
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** A short age (`42s`, `5m`, `3h`, `2d`) of `ms` milliseconds. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
