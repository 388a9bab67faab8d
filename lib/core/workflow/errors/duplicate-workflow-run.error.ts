import { StemError } from '../../errors/stem.error.js';

/** `createRun` with a run id that is already taken; the existing run is left intact. */
export class DuplicateWorkflowRunError extends StemError {
  constructor(
    readonly runId: string,
    readonly workflow: string,
  ) {
    super('STEM_WORKFLOW_RUN_EXISTS', `Workflow run ${runId} already exists (workflow "${workflow}"); pick another runId or omit it to get a fresh one`);
  }
}
