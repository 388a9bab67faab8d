import { StemError } from '../../errors/stem.error.js';
import type { WorkflowStatus } from '../run-state.js';

/** An operation that needs a live run (signal, rewind) on a run that already ended. */
export class WorkflowRunEndedError extends StemError {
  constructor(
    readonly runId: string,
    readonly status: WorkflowStatus,
    readonly operation: string,
  ) {
    super('STEM_WORKFLOW_RUN_ENDED', `Cannot ${operation} workflow run ${runId}: it is already ${status}`);
  }
}
