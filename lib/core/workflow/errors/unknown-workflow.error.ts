import { StemError } from '../../errors/stem.error.js';

/** A workflow name no definition is registered under. */
export class UnknownWorkflowError extends StemError {
  constructor(
    readonly workflow: string,
    readonly known: readonly string[],
  ) {
    super(
      'STEM_UNKNOWN_WORKFLOW',
      `No workflow "${workflow}" is registered (known: ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}); register it with the runtime (or mark its class @Workflow()) before starting or running it`,
    );
  }
}
