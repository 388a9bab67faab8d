import { StemError } from '../errors/stem.error.js';

/**
 * Thrown by the canvas follow-ups when the chord's callback is claimed by another attempt that
 * neither published it nor let its claim lapse in time; the delivery of the last member is
 * requeued and the claim is checked again when it runs.
 */
export class ChordClaimPendingError extends StemError {
  constructor(
    readonly chordId: string,
    readonly callbackId: string,
    readonly claimExpiresAt: number | undefined,
  ) {
    super(
      'STEM_CHORD_CLAIM_PENDING',
      `Chord ${chordId}: callback ${callbackId} is claimed by another attempt that has not published it yet` +
        (claimExpiresAt !== undefined ? ` (claim lapses at ${new Date(claimExpiresAt).toISOString()})` : '') +
        '; the member is requeued and the chord is checked again. If this repeats, check the workers that claimed it (the group store option chordClaimTimeout sets how long a claim holds).',
    );
  }
}
