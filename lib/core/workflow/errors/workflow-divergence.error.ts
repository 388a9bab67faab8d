import { StemError } from '../../errors/stem.error.js';

/**
 * A replayed run attempted a different step than the one its history recorded at that position:
 * the workflow's code changed its step order (or a step name depends on something that is not
 * deterministic). The run fails terminally; rewind it to the first differing step, or start a
 * new run.
 */
export class WorkflowDivergenceError extends StemError {
  constructor(
    readonly workflow: string,
    readonly runId: string,
    /** 0-based position in the run's checkpoint history. */
    readonly position: number,
    /** Checkpoint recorded at that position (`charge#0`). */
    readonly recorded: string,
    /** Checkpoint the code attempted there (`notify#0`). */
    readonly attempted: string,
  ) {
    super(
      'STEM_WORKFLOW_DIVERGENCE',
      `Workflow "${workflow}" run ${runId} diverged from its history at position ${position}: recorded step "${recorded}", attempted step "${attempted}". ` +
        `Its code no longer runs the steps in the recorded order; rewind the run to "${recorded.replace(/#\d+$/, '')}" or start a new run.`,
    );
  }
}
