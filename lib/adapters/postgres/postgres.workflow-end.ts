import type pg from 'pg';
import type { Clock } from '../../core/utils/clock.js';
import { WorkflowRunNotFoundError } from '../../core/workflow/errors/workflow-run-not-found.error.js';
import { isTerminalWorkflowStatus, type RunState, type WorkflowCancellationData, type WorkflowRunError } from '../../core/workflow/run-state.js';
import { childSignalName } from '../../core/workflow/workflow.constants.js';
import { childRunOutcome, type ChildRunOutcome } from '../../core/workflow/workflow-store.js';
import { isNotSentError, type PostgresContext, retryTransient } from './postgres.connection.js';
import { withTransaction } from './postgres.transaction.js';
import { payloadParam, toRunState, type WorkflowRunRow } from './postgres.workflow-row.js';
import * as sql from './sql/workflows.sql.js';

type EndStatus = 'completed' | 'failed' | 'cancelled' | 'retry';
type EndChange = { readonly result?: unknown; readonly error?: WorkflowRunError; readonly cancellation?: WorkflowCancellationData };

/**
 * Ends and signals of the Postgres workflow store. A run without a parent ends in one statement
 * (the end, its watchers and signals deleted, the NOTIFY); a child's end signals its parent in
 * the same transaction, on the locked rows.
 */
export class PostgresWorkflowEnds {
  constructor(
    private readonly ctx: PostgresContext,
    private readonly clock: Clock,
    /** Ended runs are kept this long (ms); 0 keeps them. */
    private readonly retention: number,
    /** NOTIFY channel of run ends. */
    private readonly channel: string,
  ) {}

  /**
   * Ends the run (`retry`: records a retryable error, the run stays running) unless it ended
   * already or, with `ownerId`, another owner holds the lease (`null` then).
   */
  async end(runId: string, status: EndStatus, ownerId: string | undefined, change: EndChange): Promise<RunState | null> {
    if (status === 'retry') {
      const { rows } = await this.write<WorkflowRunRow>(sql.retryLiveRun(this.ctx.s), () => [runId, JSON.stringify(change.error), this.clock.now(), ownerId ?? null]);
      return rows[0] ? toRunState(rows[0]) : null;
    }
    const { rows } = await this.write<{ ended: WorkflowRunRow | null; has_parent: boolean }>(sql.endLoneRun(this.ctx.s), () => [
      ...this.endValues(runId, status, this.clock.now(), change),
      ownerId ?? null,
      this.channel,
    ]);
    const row = rows[0];
    if (row?.ended) return toRunState(row.ended);
    return row?.has_parent ? this.endChild(runId, status, ownerId, change) : null;
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
      const ended = toRunState((await client.query<WorkflowRunRow>(sql.endRun(this.ctx.s), this.endValues(runId, status, now, change))).rows[0]!);
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

  private endValues(runId: string, status: string, now: number, change: EndChange): unknown[] {
    const hasResult = status === 'completed' && change.result !== undefined;
    return [
      runId,
      status,
      now,
      hasResult ? JSON.stringify(change.result) : null,
      hasResult,
      change.error ? JSON.stringify(change.error) : null,
      change.cancellation ? JSON.stringify(change.cancellation) : null,
      this.retention > 0 ? now + this.retention : null,
    ];
  }

  /** Sends a write, again while it was not sent (`values` taken anew for each try). */
  private write<R extends pg.QueryResultRow>(text: string, values: () => unknown[]): Promise<pg.QueryResult<R>> {
    return retryTransient(() => this.ctx.pool.query<R>(text, values()), 10_000, isNotSentError);
  }
}
