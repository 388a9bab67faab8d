import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { MicroBatcher } from './postgres.batcher.js';
import { type PostgresContext, retryTransient } from './postgres.connection.js';
import type { WorkflowRunRow } from './postgres.workflow-row.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/workflows.sql.js';

/** Run reads sent in one statement. */
const COALESCE = 500;

/**
 * Reads runs for the workflow store: the reads made while a statement is out go together in the
 * next one (`sql.getRuns`), so fifty runs looking at their state at once cost a few round trips
 * instead of fifty. A read on an idle store goes out alone, in the next turn of the event loop.
 */
export class PostgresRunReads {
  private readonly batcher: MicroBatcher<string, WorkflowRunRow | null>;

  private readonly statements: { readonly getRuns: (values: unknown[]) => pg.QueryConfig };

  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
  ) {
    this.statements = { getRuns: prepared(sql.getRuns(ctx.s)) };
    this.batcher = new MicroBatcher((ids) => this.run(ids), { maxBatch: COALESCE, maxConcurrent: 3 });
  }

  /** The run's row, or `null` when there is none or it expired. */
  get(runId: string): Promise<WorkflowRunRow | null> {
    return this.batcher.add(runId);
  }

  /** Resolves once every read made so far went out. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async run(ids: string[]): Promise<(WorkflowRunRow | null)[]> {
    const { rows } = await retryTransient(() => this.ctx.pool.query<WorkflowRunRow>(this.statements.getRuns([[...new Set(ids)], this.clock.now()])));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
