import type { ArgsViolation } from '../../core/errors/invalid-task-args.error.js';
import { StemError } from '../../core/errors/stem.error.js';

/**
 * A workflow's params failed validation against the DTO of its `@Workflow({ params })`.
 * Thrown by `StemClient.workflows.start` before a run is created; inside a worker (params
 * stored by a producer that did not validate) it fails the run.
 */
export class InvalidWorkflowParamsError extends StemError {
  constructor(
    readonly workflow: string,
    readonly violations: readonly ArgsViolation[],
  ) {
    const details = violations.map((v) => `${v.property}: ${Object.values(v.constraints).join('; ')}`).join(', ');
    super('STEM_INVALID_WORKFLOW_PARAMS', `Invalid params for workflow "${workflow}": ${details}. Fix the params to match the workflow's DTO.`);
  }
}
