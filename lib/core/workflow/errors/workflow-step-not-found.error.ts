import { StemError } from '../../errors/stem.error.js';

/** `rewind` to a step the run has no checkpoint of. */
export class WorkflowStepNotFoundError extends StemError {
  constructor(
    readonly runId: string,
    readonly step: string,
    readonly recorded: readonly string[],
  ) {
    super(
      'STEM_WORKFLOW_STEP_NOT_FOUND',
      `Workflow run ${runId} has no checkpoint of step "${step}" (recorded: ${recorded.length ? recorded.join(', ') : 'none'}); rewind to one of the recorded steps`,
    );
  }
}
