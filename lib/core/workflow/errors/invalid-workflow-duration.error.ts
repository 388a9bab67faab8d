import { StemError } from '../../errors/stem.error.js';

/** A workflow duration (sleep, timeout, lease, cancellation policy) that is not a non-negative ms number or a string like `'30s'`. */
export class InvalidWorkflowDurationError extends StemError {
  constructor(
    readonly option: string,
    readonly value: unknown,
  ) {
    super(
      'STEM_WORKFLOW_INVALID_DURATION',
      `${option}: ${JSON.stringify(value)} is not a duration; give milliseconds (e.g. 250) or a string such as '200ms', '30s', '5m', '1h', '7d'`,
    );
  }
}
