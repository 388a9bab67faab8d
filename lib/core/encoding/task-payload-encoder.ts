/**
 * Turns task arguments or results into what is stored and transported, and back. Encoders run
 * exactly once per write and once per read; pick one per task with `argsEncoder`/`resultEncoder`
 * or set registry-wide defaults.
 *
 * @example
 * const base64: TaskPayloadEncoder = {
 *   id: 'base64',
 *   encode: (value) => Buffer.from(value as Uint8Array).toString('base64'),
 *   decode: (stored) => Buffer.from(stored as string, 'base64'),
 * };
 */
export interface TaskPayloadEncoder {
  /** Stable id written next to every payload it encodes (`stem-args-encoder`, `__stemResultEncoder`). */
  readonly id: string;
  /** Value → stored form. The stored form must be JSON-serialisable for shared backends. */
  encode(value: unknown): unknown;
  /** Stored form → value. */
  decode(stored: unknown): unknown;
}

/** Id of the default encoder. */
export const JSON_ENCODER_ID = 'json';

/** The default encoder: values are stored as given (they must be JSON-friendly on shared stores). */
export const jsonPayloadEncoder: TaskPayloadEncoder = Object.freeze({
  id: JSON_ENCODER_ID,
  encode: (value: unknown) => value,
  decode: (stored: unknown) => stored,
});

/** Where encoder ids travel. */
export const EncoderKeys = {
  /** Envelope header naming the encoder of `args`. */
  argsHeader: 'stem-args-encoder',
  /** Envelope meta naming the encoder of `args` (kept for Stem compatibility). */
  argsMeta: '__stemArgsEncoder',
  /** Status meta naming the encoder of the stored `payload`. */
  resultMeta: '__stemResultEncoder',
} as const;

/** An encoder given by instance or by the id of one in the registry. */
export type EncoderRef = TaskPayloadEncoder | string;
