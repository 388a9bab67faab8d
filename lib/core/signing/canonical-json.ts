/**
 * Deterministic JSON of a value as it travels: the value goes through `JSON.stringify` first (so
 * `toJSON`, Buffers, Dates and dropped `undefined` members come out exactly as brokers send them;
 * bigints become strings), then object keys are sorted at every level. Two values that look the
 * same on the wire always give the same text, which is what signatures and unique keys need: an
 * envelope signed before publishing verifies after a JSON round trip.
 *
 * Every own key counts, `__proto__`, `constructor` and `prototype` included: `JSON.parse` makes
 * them ordinary members of a decoded envelope, so they must be part of what is signed.
 */
export function canonicalJson(value: unknown): string {
  const wire = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return JSON.stringify(sortKeys(wire === undefined ? null : JSON.parse(wire)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // NOTE: a prototype-less object, because assigning `__proto__` on a plain one sets its prototype
  // instead of adding the key, and the key would silently drop out of the signed text.
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}
