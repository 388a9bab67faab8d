/**
 * Whether a result backend records each task's arguments with its `queued` status: `true` (up to
 * {@link DEFAULT_RECORDED_ARGS_BYTES} bytes of JSON), `false`, or `{ maxBytes }`. Arguments
 * above the limit (or that JSON cannot carry) are recorded as a truncation marker; recording
 * never fails a publish.
 */
export type RecordArgsOption = boolean | { readonly maxBytes: number };

/** Bytes of argument JSON recorded by default. */
export const DEFAULT_RECORDED_ARGS_BYTES = 4_096;

/** What a backend stores for one task's arguments. */
export type RecordedArgs =
  /** The arguments' JSON. */
  | { readonly json: string }
  /** Too large (or not JSON): the size in bytes of their JSON (0 when JSON cannot carry them). */
  | { readonly truncated: number };

/** The byte limit an option sets (0: do not record). */
export function recordedArgsLimit(option: RecordArgsOption | undefined): number {
  if (option === undefined || option === true) return DEFAULT_RECORDED_ARGS_BYTES;
  if (option === false) return 0;
  return Number.isFinite(option.maxBytes) ? Math.max(0, Math.floor(option.maxBytes)) : DEFAULT_RECORDED_ARGS_BYTES;
}

/**
 * Encodes `args` for recording within `maxBytes`; `undefined` when nothing is to be recorded
 * (limit 0, or no arguments given). Never throws.
 */
export function recordArgs(args: unknown, maxBytes: number): RecordedArgs | undefined {
  if (maxBytes <= 0 || args === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(args);
  } catch {
    return { truncated: 0 };
  }
  if (json === undefined) return { truncated: 0 };
  // NOTE: a UTF-16 unit is at most 3 UTF-8 bytes, so most arguments skip the byte count.
  if (json.length * 3 <= maxBytes) return { json };
  const bytes = Buffer.byteLength(json);
  return bytes <= maxBytes ? { json } : { truncated: bytes };
}
