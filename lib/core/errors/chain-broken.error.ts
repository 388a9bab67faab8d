import { StemError } from './stem.error.js';

/** Recorded as the error of the remaining steps of a chain after one step failed. */
export class ChainBrokenError extends StemError {
  constructor(
    readonly chainId: string,
    readonly failedTaskId: string,
    readonly failedTask: string,
    failedMessage: string,
  ) {
    super('STEM_CHAIN_BROKEN', `Chain ${chainId} stopped: step "${failedTask}" (${failedTaskId}) failed: ${failedMessage}`);
  }
}
