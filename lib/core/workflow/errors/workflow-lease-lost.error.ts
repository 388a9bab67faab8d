import { StemError } from '../../errors/stem.error.js';

/** The run lease of a workflow run could not be renewed: another executor may own the run now; this one stops. */
export class WorkflowLeaseLostError extends StemError {
  constructor(
    readonly runId: string,
    readonly ownerId: string,
  ) {
    super('STEM_WORKFLOW_LEASE_LOST', `Run lease of workflow run ${runId} (owner ${ownerId}) was lost; the execution stops and another one takes the run over`);
  }
}
