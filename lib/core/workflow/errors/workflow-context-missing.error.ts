import { StemError } from '../../errors/stem.error.js';

/** `stepContext()` (or `currentWorkflow()` with `required`) called outside a running workflow step. */
export class WorkflowContextMissingError extends StemError {
  constructor(readonly what: string) {
    super(
      'STEM_WORKFLOW_NO_CONTEXT',
      `${what} was called outside a running workflow step; call it only from code a workflow step runs (a @Step method, or a function given to ctx.step())`,
    );
  }
}
