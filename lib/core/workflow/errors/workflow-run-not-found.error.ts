import { StemError } from '../../errors/stem.error.js';

/** An operation named a run id the workflow store does not know. */
export class WorkflowRunNotFoundError extends StemError {
  constructor(readonly runId: string) {
    super('STEM_WORKFLOW_RUN_NOT_FOUND', `Workflow run ${runId} does not exist in the workflow store (wrong id, or another store)`);
  }
}
