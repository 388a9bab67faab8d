/**
 * Whether JSON value `container` contains `contained`, as Postgres `jsonb @>` decides it: an
 * object contains another when every key of the other is present with a contained value; an
 * array contains another when every element of the other is contained in some element of it (an
 * array also contains a bare scalar it holds); scalars must be equal.
 */
export function jsonContains(container: unknown, contained: unknown): boolean {
  if (Array.isArray(container)) {
    if (Array.isArray(contained)) return contained.every((c) => container.some((e) => jsonContains(e, c)));
    if (contained !== null && typeof contained === 'object') return false;
    return container.some((e) => !Array.isArray(e) && jsonContains(e, contained));
  }
  if (container !== null && typeof container === 'object') {
    if (contained === null || typeof contained !== 'object' || Array.isArray(contained)) return false;
    const obj = container as Record<string, unknown>;
    return Object.entries(contained as Record<string, unknown>).every(([k, v]) => Object.hasOwn(obj, k) && jsonContains(obj[k], v));
  }
  return container === contained;
}
