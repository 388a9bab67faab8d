import { StemError } from '../../errors/stem.error.js';

/** Two workflow definitions with one name. */
export class DuplicateWorkflowError extends StemError {
  constructor(
    readonly workflow: string,
    readonly existingSource?: string,
    readonly newSource?: string,
  ) {
    const where = existingSource || newSource ? ` (${existingSource ?? 'unknown'} and ${newSource ?? 'unknown'})` : '';
    super('STEM_DUPLICATE_WORKFLOW', `Workflow "${workflow}" is defined twice${where}; give one of them another name`);
  }
}
