import { StemError } from './stem.error.js';

/** An envelope's signature is missing, made with an unknown key, or does not match its content. */
export class SignatureInvalidError extends StemError {
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    readonly reason: string,
    readonly keyId?: string,
  ) {
    super(
      'STEM_SIGNATURE_INVALID',
      `Task "${taskName}" (${taskId}) has an invalid signature${keyId ? ` for key "${keyId}"` : ''}: ${reason}. The envelope was dead-lettered and never ran.`,
    );
  }
}
