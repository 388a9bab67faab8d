import { StemError } from './stem.error.js';

/** Recorded as the error of a chord callback when a member of the chord body failed. */
export class ChordFailedError extends StemError {
  constructor(
    readonly chordId: string,
    readonly memberTaskId: string,
    readonly memberIndex: number,
    readonly memberTask: string,
    memberMessage: string,
  ) {
    super('STEM_CHORD_FAILED', `Chord ${chordId} did not run its callback: member ${memberIndex} ("${memberTask}", ${memberTaskId}) failed: ${memberMessage}`);
  }
}
