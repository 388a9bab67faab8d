import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { type BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { isLockConflict, type PostgresContext } from './postgres.connection.js';
import { setOrEach } from './postgres.set-or-each.js';
import { isRowError } from './postgres.status-write.js';
import type { WorkflowRunRow } from './postgres.workflow-row.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/workflows.sql.js';

/** New runs inserted in one statement. */
const COALESCE = 500;

/** The columns of a new run, as statement parameters. */
export interface NewRunRow {
  readonly id: string;
  readonly workflow: string;
  /** JSON text. */
  readonly params: string | null;
  readonly parentRunId: string | null;
  /** JSON text. */
  readonly cancellationPolicy: string | null;
  /** JSON text. */
  readonly metadata: string;
}

/**
 * Inserts new workflow runs: runs created while a statement is out go together in the next one
 * (`sql.insertRuns`), so a thousand starts cost a few commits. A run created on an idle store
 * goes out alone, in the next turn of the event loop. Each caller learns on its own whether its
 * id was free (`null` when it was taken).
 */
export class PostgresRunInserter {
  private readonly batcher: MicroBatcher<NewRunRow, WorkflowRunRow | null>;

  private readonly statements: { readonly insertRuns: (values: unknown[]) => pg.QueryConfig; readonly insertRun: (values: unknown[]) => pg.QueryConfig };

  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
  ) {
    this.statements = { insertRuns: prepared(sql.insertRuns(ctx.s)), insertRun: prepared(sql.insertRun(ctx.s)) };
    this.batcher = new MicroBatcher((rows) => this.run(rows), { maxBatch: COALESCE, maxConcurrent: 2 });
  }

  /** Inserts the run; its stored row, or `null` when a run with its id exists. */
  insert(row: NewRunRow): Promise<WorkflowRunRow | null> {
    return this.batcher.add(row);
  }

  /** Resolves once every insert made so far went out. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private run(rows: NewRunRow[]): Promise<(WorkflowRunRow | null | BatchItemFailure)[]> {
    // NOTE: an id given twice in one batch is stored for its first caller; the later one finds it
    // taken. Ids go out sorted, so two batches inserting the same ids lock them in one order.
    const firsts = new Map<string, NewRunRow>();
    for (const row of rows) if (!firsts.has(row.id)) firsts.set(row.id, row);
    const unique = [...firsts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const now = this.clock.now();
    return setOrEach(rows, {
      together: async () => {
        const { rows: stored } = await this.ctx.pool.query<WorkflowRunRow>(
          this.statements.insertRuns([
            unique.map((r) => r.id),
            unique.map((r) => r.workflow),
            unique.map((r) => r.params),
            unique.map((r) => r.parentRunId),
            now,
            unique.map((r) => r.cancellationPolicy),
            unique.map((r) => r.metadata),
          ]),
        );
        const byId = new Map(stored.map((r) => [r.id, r]));
        return rows.map((r) => (firsts.get(r.id) === r ? (byId.get(r.id) ?? null) : null));
      },
      // NOTE: one statement per run, in call order: a repeated id finds the first one's run.
      one: async (r) => {
        const values = [r.id, r.workflow, r.params, r.parentRunId, this.clock.now(), r.cancellationPolicy, r.metadata];
        const { rows: stored } = await this.ctx.pool.query<WorkflowRunRow>(this.statements.insertRun(values));
        return stored[0] ?? null;
      },
      // NOTE: a value the database refuses fails only its own run; a deadlock (nothing was
      // committed) is retried one run at a time.
      fallBackOn: (error) => isRowError(error) || isLockConflict(error),
    });
  }
}
