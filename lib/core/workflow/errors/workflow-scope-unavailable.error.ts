import { StemError } from '../../errors/stem.error.js';

/**
 * An `asWorkflowStep` wrapper was called with no run scope while script runs that started before
 * the process's first wrapper existed were still executing: it cannot tell whether it runs inside
 * one of them, so it refuses rather than run its function without a checkpoint. Inside a run this
 * fails the run task (not the run); the retry replays the run with the scope in place.
 */
export class WorkflowScopeUnavailableError extends StemError {
  constructor(readonly step: string) {
    super(
      'STEM_WORKFLOW_SCOPE_UNAVAILABLE',
      `asWorkflowStep("${step}") was called while workflow runs that started before the first asWorkflowStep wrapper was created are still executing; create wrappers at start-up (in a constructor or module scope), before runs start`,
    );
  }
}
