import { StemError } from '../../errors/stem.error.js';

/**
 * A script-form run called a step (or sleep/awaitEvent/...) while another of its steps was still
 * running. Checkpoints are numbered in call order, so steps of one run must be awaited one at a
 * time; run parallel work as tasks (`ctx.enqueue`) or child workflows.
 */
export class ConcurrentWorkflowStepError extends StemError {
  constructor(
    readonly workflow: string,
    readonly runId: string,
    readonly running: string,
    readonly attempted: string,
  ) {
    super(
      'STEM_WORKFLOW_CONCURRENT_STEP',
      `Workflow "${workflow}" run ${runId} called "${attempted}" while step "${running}" was still running; await each step before the next (parallel work belongs in tasks or child workflows)`,
    );
  }
}
