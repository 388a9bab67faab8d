import { StemError } from '../../core/errors/stem.error.js';

/** A dashboard action could not be done as asked; the message says why and what to do instead. It is shown to the user. */
export class DashboardActionError extends StemError {
  constructor(message: string) {
    super('STEM_DASHBOARD_ACTION', message);
  }
}
