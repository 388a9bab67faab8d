import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { type BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { isLockConflict, type PostgresContext } from './postgres.connection.js';
import { firstsThenRepeats, inIdOrder, setOrEach } from './postgres.set-or-each.js';
import { isRowError } from './postgres.status-write.js';
import type { CheckpointRow, WorkflowRunRow } from './postgres.workflow-row.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/workflows.sql.js';

/** Claims of concurrent runs sent in one statement. */
const COALESCE = 200;

/** What a claim-and-load statement answers for one run. */
export interface ClaimedRunRow {
  run: WorkflowRunRow | null;
  steps: CheckpointRow[] | null;
  read_cursor: number | null;
  read_updated_at: string | null;
}

interface Claim {
  readonly runId: string;
  readonly ownerId: string;
  readonly leaseDuration: number;
}

/**
 * Claims runs and loads their checkpoints for the workflow store: the claims made while a
 * statement is out go together in the next one (`sql.claimAndLoadMany`), so fifty runs starting
 * at once cost a few commits instead of fifty. A claim on an idle store goes out alone, in the
 * next turn of the event loop. Each claim still checks its own run's lease, and its lease runs
 * from the time its statement is sent.
 */
export class PostgresRunClaims {
  private readonly batcher: MicroBatcher<Claim, ClaimedRunRow>;

  private readonly statements: { readonly claimAndLoadMany: (values: unknown[]) => pg.QueryConfig; readonly claimAndLoad: (values: unknown[]) => pg.QueryConfig };

  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
  ) {
    this.statements = { claimAndLoadMany: prepared(sql.claimAndLoadMany(ctx.s)), claimAndLoad: prepared(sql.claimAndLoad(ctx.s)) };
    this.batcher = new MicroBatcher((items) => this.run(items), { maxBatch: COALESCE, maxConcurrent: 3, keyOf: (item) => item.runId });
  }

  /** Takes the lease of the run for `ownerId` (unless another owner's is live) and reads it with its checkpoints. */
  claim(runId: string, ownerId: string, leaseDuration: number): Promise<ClaimedRunRow> {
    return this.batcher.add({ runId, ownerId, leaseDuration });
  }

  /** Resolves once every claim made so far went out. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private run(items: Claim[]): Promise<(ClaimedRunRow | BatchItemFailure)[]> {
    // NOTE: one statement updates a run row once, so a run claimed twice in the batch is claimed
    // again on its own, after the first.
    return firstsThenRepeats(
      items,
      (item) => item.runId,
      (firsts) => this.together(firsts),
      (item) => this.one(item),
    );
  }

  /**
   * Claims of distinct runs in one statement. Ids go out sorted; the join may still lock rows in
   * another order, and a deadlock with another statement on these runs falls back one run at a time.
   */
  private together(items: Claim[]): Promise<(ClaimedRunRow | BatchItemFailure)[]> {
    return setOrEach(items, {
      together: () =>
        inIdOrder(
          items,
          (item) => item.runId,
          async (sorted) => {
            const now = this.clock.now();
            const statement = this.statements.claimAndLoadMany([sorted.map((i) => i.runId), sorted.map((i) => i.ownerId), now, sorted.map((i) => now + i.leaseDuration)]);
            return (await this.ctx.pool.query<ClaimedRunRow & { ord: string }>(statement)).rows;
          },
        ),
      one: (item) => this.one(item),
      // NOTE: a deadlock with another transaction on these runs (nothing was committed) is retried one run at a time.
      fallBackOn: (error) => isRowError(error) || isLockConflict(error),
    });
  }

  private async one(item: Claim): Promise<ClaimedRunRow> {
    const now = this.clock.now();
    const { rows } = await this.ctx.pool.query<ClaimedRunRow>(this.statements.claimAndLoad([item.runId, item.ownerId, now, now + item.leaseDuration]));
    return rows[0] ?? { run: null, steps: null, read_cursor: null, read_updated_at: null };
  }
}
