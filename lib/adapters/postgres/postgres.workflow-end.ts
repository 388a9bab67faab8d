import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { WorkflowRunNotFoundError } from '../../core/workflow/errors/workflow-run-not-found.error.js';
import { isTerminalWorkflowStatus, type RunState, type WorkflowCancellationData, type WorkflowRunError } from '../../core/workflow/run-state.js';
import { childSignalName } from '../../core/workflow/workflow.constants.js';
import { childRunOutcome, type ChildRunOutcome } from '../../core/workflow/workflow-store.js';
import { type BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { isLockConflict, isNotSentError, type PostgresContext, retryTransient } from './postgres.connection.js';
import { firstsThenRepeats, inIdOrder, setOrEach } from './postgres.set-or-each.js';
import { isRowError } from './postgres.status-write.js';
import { withTransaction } from './postgres.transaction.js';
import { payloadParam, toRunState, type WorkflowRunRow } from './postgres.workflow-row.js';
import { prepared, preparedSql } from './postgres.statements.js';
import * as sql from './sql/workflows.sql.js';

type EndStatus = 'completed' | 'failed' | 'cancelled' | 'retry';
type EndChange = { readonly result?: unknown; readonly error?: WorkflowRunError; readonly cancellation?: WorkflowCancellationData };

/** Ends of concurrent runs sent in one statement. */
const COALESCE = 200;

/** What an end stores, as JSON texts (encoded when the end is asked for, so a value JSON cannot carry fails that end alone). */
interface EncodedEnd {
  readonly result: string | null;
  readonly hasResult: boolean;
  readonly error: string | null;
  readonly cancellation: string | null;
}

/** One end of a run without a parent, as the batched statement takes it. */
interface LoneEnd {
  readonly runId: string;
  readonly status: Exclude<EndStatus, 'retry'>;
  readonly ownerId: string | null;
  readonly encoded: EncodedEnd;
}

/** What an end of a run without a parent answers: the ended row, or whether the run has a parent. */
interface LoneEndRow {
  ended: WorkflowRunRow | null;
  has_parent: boolean;
}

/**
 * Ends and signals of the Postgres workflow store. A run without a parent ends in one statement
 * (the end, its watchers and signals deleted, the NOTIFY), and the ends of concurrent runs made
 * while a statement is out go together in the next one (`sql.endLoneRuns`); a child's end
 * signals its parent in the same transaction, on the locked rows.
 */
export class PostgresWorkflowEnds {
  private readonly lone: MicroBatcher<LoneEnd, LoneEndRow>;

  private readonly statements: { readonly endLoneRuns: (values: unknown[]) => pg.QueryConfig; readonly endLoneRun: (values: unknown[]) => pg.QueryConfig };

  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
    /** Ended runs are kept this long (ms); 0 keeps them. */
    private readonly retention: number,
    /** NOTIFY channel of run ends. */
    private readonly channel: string,
  ) {
    this.statements = { endLoneRuns: prepared(sql.endLoneRuns(ctx.s)), endLoneRun: prepared(sql.endLoneRun(ctx.s)) };
    this.lone = new MicroBatcher((items) => this.endLone(items), { maxBatch: COALESCE, maxConcurrent: 3, keyOf: (item) => item.runId });
  }

  /** Resolves once every end made so far went out. */
  drain(): Promise<void> {
    return this.lone.drain();
  }

  /**
   * Ends the run (`retry`: records a retryable error, the run stays running) unless it ended
   * already or, with `ownerId`, another owner holds the lease (`null` then).
   */
  async end(runId: string, status: EndStatus, ownerId: string | undefined, change: EndChange): Promise<RunState | null> {
    if (status === 'retry') {
      const { rows } = await this.write<WorkflowRunRow>(sql.retryLiveRun, () => [runId, JSON.stringify(change.error), this.clock.now(), ownerId ?? null]);
      return rows[0] ? toRunState(rows[0]) : null;
    }
    const encoded = encodeEnd(status, change);
    const row = await this.lone.add({ runId, status, ownerId: ownerId ?? null, encoded });
    if (row.ended) return toRunState(row.ended);
    return row.has_parent ? this.endChild(runId, status, ownerId, change) : null;
  }

  /** Ends runs without a parent: distinct runs in one statement, a run ended twice in the batch again on its own after its first. */
  private endLone(items: LoneEnd[]): Promise<(LoneEndRow | BatchItemFailure)[]> {
    return firstsThenRepeats(
      items,
      (item) => item.runId,
      (firsts) =>
        setOrEach(firsts, {
          together: () => this.endTogether(firsts),
          one: (item) => this.endOne(item),
          // NOTE: a value the database refuses fails only its own end; a deadlock (nothing was committed) is retried one run at a time.
          fallBackOn: (error) => isRowError(error) || isLockConflict(error),
        }),
      (item) => this.endOne(item),
    );
  }

  /**
   * Ends of distinct runs in one statement. Ids go out sorted; the join may still lock rows in
   * another order, and a deadlock with another statement on these runs falls back one run at a time.
   */
  private endTogether(items: LoneEnd[]): Promise<LoneEndRow[]> {
    return inIdOrder(
      items,
      (item) => item.runId,
      async (sorted) => {
        const now = this.clock.now();
        const values = sorted.map((item) => this.endValues(item.runId, item.status, now, item.encoded));
        const column = (k: number) => values.map((v) => v[k]);
        const { rows } = await this.ctx.pool.query<LoneEndRow & { ord: string }>(
          this.statements.endLoneRuns([
            column(0),
            column(1),
            column(3),
            column(4),
            column(5),
            column(6),
            sorted.map((item) => item.ownerId),
            now,
            this.retention > 0 ? now + this.retention : null,
            this.channel,
          ]),
        );
        return rows;
      },
    );
  }

  private async endOne(item: LoneEnd): Promise<LoneEndRow> {
    const values = [...this.endValues(item.runId, item.status, this.clock.now(), item.encoded), item.ownerId, this.channel];
    const { rows } = await this.ctx.pool.query<LoneEndRow>(this.statements.endLoneRun(values));
    return rows[0] ?? { ended: null, has_parent: false };
  }

  /** Stores signal `name` with the run (locked here, inside the caller's transaction); wakes it when it waits for that signal. */
  async signal(client: pg.PoolClient, runId: string, name: string, payload: unknown): Promise<{ stored: boolean; woke: boolean }> {
    const { rows } = await client.query<WorkflowRunRow>(sql.lockRun(this.ctx.s), [runId]);
    const run = rows[0];
    if (!run) throw new WorkflowRunNotFoundError(runId);
    if (isTerminalWorkflowStatus(run.status as RunState['status'])) return { stored: false, woke: false };
    const now = this.clock.now();
    await client.query(sql.insertSignal(this.ctx.s), [runId, name, payloadParam(payload), now]);
    const s = run.suspension;
    const woke = run.status === 'suspended' && s?.type === 'signal' && s.signal === name && run.resume_data === null;
    if (woke) await client.query(sql.wakeOnSignal(this.ctx.s), [runId, now, s.step, name]);
    return { stored: true, woke };
  }

  /** The end of a child run: the run and its parent's signal in one transaction. */
  private endChild(runId: string, status: Exclude<EndStatus, 'retry'>, ownerId: string | undefined, change: EndChange): Promise<RunState | null> {
    return withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<WorkflowRunRow>(sql.lockRun(this.ctx.s), [runId]);
      const row = rows[0];
      const now = this.clock.now();
      if (!row || isTerminalWorkflowStatus(row.status as RunState['status'])) return null;
      if (ownerId !== undefined && (row.owner_id !== ownerId || Number(row.lease_expires_at ?? 0) <= now)) return null;
      const ended = toRunState((await client.query<WorkflowRunRow>(sql.endRun(this.ctx.s), this.endValues(runId, status, now, encodeEnd(status, change)))).rows[0]!);
      if (ended.parentRunId) await this.signalParent(client, ended);
      await client.query('SELECT pg_notify($1, $2)', [this.channel, runId]);
      return ended;
    });
  }

  private async signalParent(client: pg.PoolClient, run: RunState): Promise<void> {
    const outcome = childRunOutcome(run, run.status as ChildRunOutcome['status']);
    try {
      await this.signal(client, run.parentRunId!, childSignalName(run.id), outcome);
    } catch (error) {
      if (!(error instanceof WorkflowRunNotFoundError)) throw error;
    }
  }

  private endValues(runId: string, status: string, now: number, encoded: EncodedEnd): unknown[] {
    return [runId, status, now, encoded.result, encoded.hasResult, encoded.error, encoded.cancellation, this.retention > 0 ? now + this.retention : null];
  }

  /** Sends a write, again while it was not sent (`values` taken anew for each try). */
  private write<R extends pg.QueryResultRow>(build: (s: string) => string, values: () => unknown[]): Promise<pg.QueryResult<R>> {
    const statement = preparedSql(build, this.ctx.s);
    return retryTransient(() => this.ctx.pool.query<R>(statement(values())), 10_000, isNotSentError);
  }
}

/** The JSON texts an end stores. @throws TypeError for a result, error or cancellation JSON cannot carry */
function encodeEnd(status: string, change: EndChange): EncodedEnd {
  const hasResult = status === 'completed' && change.result !== undefined;
  return {
    result: hasResult ? JSON.stringify(change.result) : null,
    hasResult,
    error: change.error ? JSON.stringify(change.error) : null,
    cancellation: change.cancellation ? JSON.stringify(change.cancellation) : null,
  };
}
