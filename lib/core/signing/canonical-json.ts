/**
 * Deterministic JSON: object keys sorted at every level, `undefined` members dropped, bytes as
 * `{"$bytes":"<base64>"}`, dates as ISO strings, bigints as strings. Two structurally equal values
 * always give the same text, which is what signatures and unique keys need.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value, new Set()));
}

function normalize(value: unknown, seen: Set<object>): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? null : value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (seen.has(value)) throw new TypeError('canonicalJson: circular structure');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => normalize(v, seen));
    if (value instanceof Map) return normalize(Object.fromEntries(value), seen);
    if (value instanceof Set) return [...value].map((v) => normalize(v, seen));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      out[key] = normalize(member, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
