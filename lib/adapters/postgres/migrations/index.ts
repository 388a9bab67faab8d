import { sql as init } from './0001_init.sql.js';
import { sql as schedules } from './0002_schedules.sql.js';
import { sql as canvasGroups } from './0003_canvas_groups.sql.js';
import { sql as leaseFloor } from './0004_lease_floor_dead_letter_sweep.sql.js';
import { sql as chordClaimDeadline } from './0005_chord_claim_deadline.sql.js';
import { sql as controlPlane } from './0006_control_plane.sql.js';
import { sql as workflows } from './0007_workflows.sql.js';
import { sql as operationsQueries } from './0008_operations_queries.sql.js';
import { sql as workflowHotUpdates } from './0009_workflow_hot_updates.sql.js';

/** One numbered schema change. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Every migration, in order. Append only: a released migration never changes; a new one gets the
 * next number and a file `NNNN_<name>.sql.ts`.
 */
export const MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, name: '0001_init', sql: init },
  { version: 2, name: '0002_schedules', sql: schedules },
  { version: 3, name: '0003_canvas_groups', sql: canvasGroups },
  { version: 4, name: '0004_lease_floor_dead_letter_sweep', sql: leaseFloor },
  { version: 5, name: '0005_chord_claim_deadline', sql: chordClaimDeadline },
  { version: 6, name: '0006_control_plane', sql: controlPlane },
  { version: 7, name: '0007_workflows', sql: workflows },
  { version: 8, name: '0008_operations_queries', sql: operationsQueries },
  { version: 9, name: '0009_workflow_hot_updates', sql: workflowHotUpdates },
];
