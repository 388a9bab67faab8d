import { StemError } from '../errors/stem.error.js';

/** A group's results were asked for, but the group store has no live group under that id. */
export class GroupNotFoundError extends StemError {
  constructor(readonly groupId: string) {
    super(
      'STEM_GROUP_NOT_FOUND',
      `Group ${groupId} is unknown or expired in the group store; check the id, and that the group's ttl (canvas option groupTtl, or ttl per call) outlives the wait.`,
    );
  }
}
