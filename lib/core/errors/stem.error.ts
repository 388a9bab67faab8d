/** Base class of every error thrown by Stem. `code` is stable and safe to branch on. */
export class StemError extends Error {
  /** Stable machine-readable code, e.g. `STEM_INVALID_TASK_ARGS`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
