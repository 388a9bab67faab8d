import { StemError } from '../../errors/stem.error.js';
import type { WorkflowStatus } from '../run-state.js';

/** Thrown by `ctx.waitForChild()` when the child run ended `failed` or `cancelled`. */
export class WorkflowChildFailedError extends StemError {
  constructor(
    readonly childRunId: string,
    readonly childWorkflow: string,
    readonly status: Extract<WorkflowStatus, 'failed' | 'cancelled'>,
    readonly detail: string,
  ) {
    super('STEM_WORKFLOW_CHILD_FAILED', `Child workflow "${childWorkflow}" run ${childRunId} ended ${status}: ${detail}`);
  }
}
