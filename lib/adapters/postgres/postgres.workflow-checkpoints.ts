import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { type BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { isLockConflict, type PostgresContext } from './postgres.connection.js';
import { firstsThenRepeats, setOrEach } from './postgres.set-or-each.js';
import { isRowError } from './postgres.status-write.js';
import { prepared } from './postgres.statements.js';
import * as sql from './sql/workflows.sql.js';

/** Checkpoints of concurrent runs saved in one statement. */
const COALESCE = 200;

interface Checkpoint {
  readonly runId: string;
  readonly name: string;
  /** JSON text, `null` for `undefined`. */
  readonly value: string | null;
  readonly ownerId: string | null;
  readonly meta: string | null;
}

/**
 * Saves the checkpoints of concurrently running workflows: the saves made while a statement is
 * out go together in the next one (`sql.saveSteps`), so fifty runs stepping at once cost a few
 * commits instead of fifty. A save made on an idle store goes out alone, in the next turn of the
 * event loop. Each save still checks its run's status and lease on its own, and reports on its
 * own whether it was stored.
 */
export class PostgresCheckpointWriter {
  private readonly batcher: MicroBatcher<Checkpoint, boolean>;

  private readonly statements: { readonly saveSteps: (values: unknown[]) => pg.QueryConfig; readonly saveStep: (values: unknown[]) => pg.QueryConfig };

  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
  ) {
    this.statements = { saveSteps: prepared(sql.saveSteps(ctx.s)), saveStep: prepared(sql.saveStep(ctx.s)) };
    this.batcher = new MicroBatcher((items) => this.run(items), { maxBatch: COALESCE, maxConcurrent: 3, keyOf: (item) => item.runId });
  }

  /** Saves checkpoint `name` of the run; `false` when the run is not running or its lease is not `ownerId`'s. */
  save(runId: string, name: string, value: string | null, ownerId: string | undefined, meta: Readonly<Record<string, unknown>> | undefined): Promise<boolean> {
    return this.batcher.add({ runId, name, value, ownerId: ownerId ?? null, meta: meta ? JSON.stringify(meta) : null });
  }

  /** Resolves once every save made so far went out. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private run(items: Checkpoint[]): Promise<(boolean | BatchItemFailure)[]> {
    // NOTE: one statement updates a run row once, so a run's later saves in the batch follow
    // one by one, after its first.
    return firstsThenRepeats(
      items,
      (item) => item.runId,
      (firsts) => this.together(firsts),
      (item) => this.one(item),
    );
  }

  /** Saves of distinct runs in one statement. */
  private together(items: Checkpoint[]): Promise<(boolean | BatchItemFailure)[]> {
    return setOrEach(items, {
      together: async () => {
        const { rows } = await this.ctx.pool.query<{ run_id: string }>(
          this.statements.saveSteps([
            items.map((i) => i.runId),
            items.map((i) => i.name),
            items.map((i) => i.value),
            items.map((i) => i.ownerId),
            items.map((i) => i.meta),
            this.clock.now(),
          ]),
        );
        const saved = new Set(rows.map((r) => r.run_id));
        return items.map((i) => saved.has(i.runId));
      },
      one: (item) => this.one(item),
      // NOTE: a value the database refuses fails only its own save; a deadlock with another
      // transaction on these runs (the statement committed nothing) is retried one run at a time.
      fallBackOn: (error) => isRowError(error) || isLockConflict(error),
    });
  }

  private async one(item: Checkpoint): Promise<boolean> {
    const { rows } = await this.ctx.pool.query(this.statements.saveStep([item.runId, item.name, item.value, this.clock.now(), item.ownerId, item.meta]));
    return rows.length > 0;
  }
}
