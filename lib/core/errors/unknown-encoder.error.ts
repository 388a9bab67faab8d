import { StemError } from './stem.error.js';

/** A payload names an encoder id that no registry in this process knows. */
export class UnknownEncoderError extends StemError {
  constructor(
    readonly encoderId: string,
    readonly known: readonly string[],
    readonly context?: string,
  ) {
    super(
      'STEM_UNKNOWN_ENCODER',
      `No payload encoder with id "${encoderId}"${context ? ` (${context})` : ''} is registered; known: ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}. Register it in "encoders" on both the producer and the worker.`,
    );
  }
}
