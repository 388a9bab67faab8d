import type pg from 'pg';
import { type Clock, systemClock, type TimerHandle } from '../../core/utils/clock.js';
import { uuidv7 } from '../../core/utils/uuid.js';
import { DuplicateWorkflowRunError } from '../../core/workflow/errors/duplicate-workflow-run.error.js';
import { WorkflowRunNotFoundError } from '../../core/workflow/errors/workflow-run-not-found.error.js';
import { WorkflowStepNotFoundError } from '../../core/workflow/errors/workflow-step-not-found.error.js';
import {
  type RunState,
  type StepCheckpoint,
  type WatcherResolution,
  type WorkflowCancellationData,
  type WorkflowRunError,
  type WorkflowSignal,
  type WorkflowWatcher,
} from '../../core/workflow/run-state.js';
import { parseCheckpointName } from '../../core/workflow/workflow.constants.js';
import { toMillis } from '../../core/workflow/workflow-duration.js';
import { type CreateWorkflowRun, type ListWorkflowRunsQuery, type LoadedRun, type RunChangeListener, type WorkflowStore } from '../../core/workflow/workflow-store.js';
import { isNotSentError, openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import { requireTable } from './postgres.require-table.js';
import { preparedSql } from './postgres.statements.js';
import { withTransaction } from './postgres.transaction.js';
import { PostgresCheckpointWriter } from './postgres.workflow-checkpoints.js';
import { PostgresRunClaims } from './postgres.workflow-claims.js';
import { PostgresRunReads } from './postgres.workflow-reads.js';
import { PostgresWorkflowEnds } from './postgres.workflow-end.js';
import { PostgresRunInserter } from './postgres.workflow-run-inserts.js';
import { PostgresWorkflowWatch } from './postgres.workflow-watch.js';
import { type PostgresWorkflowStoreOptions, type SuspendOptions, suspensionData, type WaitOptions } from './postgres.workflow-store.options.js';
import { type CheckpointRow, jsonParam, payloadParam, toCheckpoint, toRunState, toSignal, toWatcher, type WorkflowRunRow } from './postgres.workflow-row.js';
import * as sql from './sql/workflows.sql.js';

const DEFAULT_BATCH = 256;
const DEFAULT_DUE_CLAIM_MS = 30_000;

/**
 * A {@link WorkflowStore} on Postgres (migration 0007): a row per run, checkpoints, watchers and
 * signals in their own tables. Each transition is one statement or one transaction on the locked
 * run row: a watcher is resolved and its payload stored in one statement (`FOR UPDATE SKIP
 * LOCKED`, so concurrent emits never resolve one twice), a child's end signals its parent in the
 * same transaction, leases carry owner tokens checked by every write of an executor. Ended runs
 * expire after `retention` (a sweep on an index of expiry times). `watch` listens on
 * `<schema>_workflows` (NOTIFY at every end and rewind) and polls as a fallback.
 *
 * @example
 * const store = await PostgresWorkflowStore.connect(process.env.DATABASE_URL!, { retention: '3d' });
 */
export class PostgresWorkflowStore implements WorkflowStore {
  readonly name = 'postgres';
  private readonly clock: Clock;
  private readonly retention: number;
  private readonly channel: string;
  private readonly watcher: PostgresWorkflowWatch;
  private readonly ends: PostgresWorkflowEnds;
  private readonly checkpoints: PostgresCheckpointWriter;
  private readonly inserts: PostgresRunInserter;
  private readonly claims: PostgresRunClaims;
  private readonly reads: PostgresRunReads;
  private readonly sweepInterval: number;
  private sweepTimer: TimerHandle | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly ctx: PostgresContext,
    options: PostgresWorkflowStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.retention = options.retention === false ? 0 : toMillis(options.retention ?? '7d', 'retention');
    this.channel = `${ctx.schema}_workflows`;
    this.ends = new PostgresWorkflowEnds(ctx, this.clock, this.retention, this.channel);
    this.checkpoints = new PostgresCheckpointWriter(ctx, this.clock);
    this.inserts = new PostgresRunInserter(ctx, this.clock);
    this.claims = new PostgresRunClaims(ctx, this.clock);
    this.reads = new PostgresRunReads(ctx, this.clock);
    this.watcher = new PostgresWorkflowWatch(ctx, this.channel, this.clock, options.watchPollInterval ?? 5_000, (id) => this.get(id));
    this.sweepInterval = options.sweepInterval ?? 60_000;
    this.scheduleSweep();
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first (unless
   * `migrate: false`; the tables come with migration 0007).
   * @throws PostgresConnectionError when the server cannot be reached
   * @throws PostgresMigrationError when the tables are missing and migrations are off
   */
  static async connect(target: PostgresTarget, options: PostgresWorkflowStoreOptions = {}): Promise<PostgresWorkflowStore> {
    const ctx = await openPostgres(target, options);
    try {
      await requireTable(ctx, 'workflow_runs');
    } catch (error) {
      await ctx.release();
      throw error;
    }
    return new PostgresWorkflowStore(ctx, options);
  }

  async createRun(input: CreateWorkflowRun): Promise<RunState> {
    const id = input.runId ?? uuidv7();
    const row = await this.inserts.insert({
      id,
      workflow: input.workflow,
      params: payloadParam(input.params),
      parentRunId: input.parentRunId ?? null,
      cancellationPolicy: jsonParam(input.cancellationPolicy ?? null),
      metadata: JSON.stringify(input.metadata ?? {}),
    });
    if (row) return toRunState(row);
    const { rows: taken } = await this.read<{ workflow: string }>(sql.runWorkflow, [id]);
    throw new DuplicateWorkflowRunError(id, taken[0]?.workflow ?? input.workflow);
  }

  async get(runId: string): Promise<RunState | null> {
    const row = await this.reads.get(runId);
    return row ? toRunState(row) : null;
  }

  async listRuns(query: ListWorkflowRunsQuery = {}): Promise<RunState[]> {
    const values = [query.workflow ?? null, query.status ?? null, query.parentRunId ?? null, this.clock.now(), query.limit ?? 50, query.offset ?? 0];
    return (await this.read<WorkflowRunRow>(sql.listRuns, values)).rows.map(toRunState);
  }

  async listRunnableRuns(query: { now: number; limit?: number; offset?: number }): Promise<RunState[]> {
    return (await this.read<WorkflowRunRow>(sql.runnableRuns, [query.now, query.limit ?? 50, query.offset ?? 0])).rows.map(toRunState);
  }

  async readStep(runId: string, name: string): Promise<StepCheckpoint | null> {
    if (!(await this.get(runId))) return null;
    const { rows } = await this.read<CheckpointRow>(sql.readStep, [runId, name]);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  async saveStep(runId: string, name: string, value: unknown, options: { ownerId?: string; meta?: Readonly<Record<string, unknown>> } = {}): Promise<boolean> {
    return this.checkpoints.save(runId, name, jsonParam(value), options.ownerId, options.meta);
  }

  async listSteps(runId: string): Promise<StepCheckpoint[]> {
    return (await this.read<CheckpointRow>(sql.listLiveSteps, [runId, this.clock.now()])).rows.map(toCheckpoint);
  }

  async rewindToStep(runId: string, step: string): Promise<RunState> {
    const run = await withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<WorkflowRunRow>(sql.lockRun(this.ctx.s), [runId]);
      if (!rows[0]) throw new WorkflowRunNotFoundError(runId);
      const steps = (await client.query<CheckpointRow>(sql.listSteps(this.ctx.s), [runId])).rows;
      const from = steps.find((s) => s.name === step || parseCheckpointName(s.name).step === step);
      if (!from)
        throw new WorkflowStepNotFoundError(
          runId,
          step,
          steps.map((s) => s.name),
        );
      const now = this.clock.now();
      await client.query(sql.deleteStepsFrom(this.ctx.s), [runId, from.position]);
      await client.query(`DELETE FROM ${this.ctx.s}.workflow_watchers WHERE run_id = $1`, [runId]);
      const suspension = { type: 'rewind', step, iteration: 0, iterationStep: from.name, suspendedAt: now, resumeAt: now, requestedResumeAt: null };
      const updated = await client.query<WorkflowRunRow>(sql.rewindRun(this.ctx.s), [runId, from.position, JSON.stringify(suspension), now]);
      await client.query('SELECT pg_notify($1, $2)', [this.channel, runId]);
      return toRunState(updated.rows[0]!);
    });
    this.watcher.changedHere(runId, run);
    return run;
  }

  async suspendUntil(
    runId: string,
    step: string,
    resumeAt: number,
    options: SuspendOptions & { type?: 'sleep' | 'retry'; requestedResumeAt?: number | null } = {},
  ): Promise<boolean> {
    const now = this.clock.now();
    const suspension = suspensionData(options.type ?? 'sleep', step, now, resumeAt, options.requestedResumeAt ?? resumeAt, options);
    const { rows } = await this.write(sql.suspendRun, [runId, options.ownerId ?? null, now, JSON.stringify(suspension), resumeAt, null]);
    return this.changed(runId, rows.length > 0);
  }

  async suspendOnTopic(runId: string, step: string, topic: string, options: WaitOptions = {}): Promise<boolean> {
    const now = this.clock.now();
    const deadline = options.deadline ?? null;
    const suspension = suspensionData('event', step, now, deadline, options.requestedDeadline ?? deadline, options, { topic });
    const values = [runId, options.ownerId ?? null, now, JSON.stringify(suspension), deadline, topic, step, jsonParam(options.data)];
    const { rows } = await this.write(sql.suspendOnTopic, values);
    return this.changed(runId, rows.length > 0);
  }

  async suspendOnSignal(runId: string, step: string, name: string, options: WaitOptions = {}): Promise<boolean> {
    const now = this.clock.now();
    const deadline = options.deadline ?? null;
    const suspension = suspensionData('signal', step, now, deadline, options.requestedDeadline ?? deadline, options, { signal: name });
    const done = await withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<WorkflowRunRow>(sql.lockRun(this.ctx.s), [runId]);
      if (!rows[0] || (await client.query(sql.hasSignal(this.ctx.s), [runId, name])).rows.length > 0) return false;
      return (await client.query(sql.suspendRun(this.ctx.s), [runId, options.ownerId ?? null, now, JSON.stringify(suspension), deadline, null])).rows.length > 0;
    });
    return this.changed(runId, done);
  }

  async resolveWatchers(topic: string, payload: unknown, options: { limit?: number } = {}): Promise<WatcherResolution[]> {
    const values = [topic, payloadParam(payload), options.limit ?? DEFAULT_BATCH, this.clock.now()];
    const { rows } = await this.write<{ id: string; workflow: string; step: string; resume_data: WatcherResolution['resumeData'] }>(sql.resolveWatchers, values);
    for (const row of rows) this.watcher.changedHere(row.id);
    return rows.map((r) => ({ runId: r.id, workflow: r.workflow, step: r.step, topic, resumeData: r.resume_data }));
  }

  async listWatchers(topic?: string, options: { limit?: number } = {}): Promise<WorkflowWatcher[]> {
    const { rows } = await this.read<Parameters<typeof toWatcher>[0]>(sql.listWatchers, [topic ?? null, options.limit ?? DEFAULT_BATCH]);
    return rows.map(toWatcher);
  }

  async runsWaitingOn(topic: string): Promise<string[]> {
    return (await this.read<{ id: string }>(sql.runsWaitingOn, [topic])).rows.map((r) => r.id);
  }

  async dueRuns(now: number, options: { limit?: number; claimFor?: number } = {}): Promise<string[]> {
    const values = [now, options.limit ?? DEFAULT_BATCH, now + (options.claimFor ?? DEFAULT_DUE_CLAIM_MS)];
    const { rows } = await this.write<{ id: string; resume_at: string; seq: string }>(sql.claimDueRuns, values);
    return rows.sort((a, b) => Number(a.resume_at) - Number(b.resume_at) || Number(a.seq) - Number(b.seq)).map((r) => r.id);
  }

  async markResumed(runId: string, options: { now?: number; data?: unknown } = {}): Promise<RunState | null> {
    const now = options.now ?? this.clock.now();
    const { rows } = await this.write<WorkflowRunRow>(sql.resumeRun, [runId, now, options.data === undefined ? null : payloadParam(options.data)]);
    const run = rows[0] ? toRunState(rows[0]) : null;
    if (run) this.watcher.changedHere(runId, run);
    return run;
  }

  async sendSignal(runId: string, name: string, payload: unknown): Promise<{ stored: boolean; woke: boolean }> {
    const out = await withTransaction(this.ctx.pool, (client) => this.ends.signal(client, runId, name, payload));
    if (out.stored) this.watcher.changedHere(runId);
    return out;
  }

  async takeSignal(runId: string, name: string, step: string, options: { ownerId?: string } = {}): Promise<{ payload: unknown } | null> {
    const taken = await withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<WorkflowRunRow>(sql.lockRun(this.ctx.s), [runId]);
      const run = rows[0];
      const now = this.clock.now();
      if (!run || run.status !== 'running' || (options.ownerId !== undefined && (run.owner_id !== options.ownerId || Number(run.lease_expires_at ?? 0) <= now))) return null;
      const signal = (await client.query<{ payload: string }>(sql.takeSignal(this.ctx.s), [runId, name])).rows[0];
      if (!signal) return null;
      await this.saveStepWith(client, runId, step, signal.payload, options.ownerId);
      return { payload: JSON.parse(signal.payload) as unknown };
    });
    return taken;
  }

  async listSignals(runId: string): Promise<WorkflowSignal[]> {
    return (await this.read<Parameters<typeof toSignal>[0]>(sql.listSignals, [runId])).rows.map(toSignal);
  }

  markCompleted(runId: string, result: unknown, options: { ownerId?: string } = {}): Promise<RunState | null> {
    return this.end(runId, 'completed', options.ownerId, { result });
  }

  markFailed(runId: string, error: WorkflowRunError, options: { terminal: boolean; ownerId?: string }): Promise<RunState | null> {
    return this.end(runId, options.terminal ? 'failed' : 'retry', options.ownerId, { error });
  }

  cancel(runId: string, data: Omit<WorkflowCancellationData, 'cancelledAt'> & { cancelledAt?: number }): Promise<RunState | null> {
    return this.end(runId, 'cancelled', undefined, { cancellation: { ...data, cancelledAt: data.cancelledAt ?? this.clock.now() } });
  }

  async claimRun(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    return (await this.write(sql.claimRun, () => this.leaseValues(runId, ownerId, leaseDuration))).rows.length > 0;
  }

  async claimAndLoad(runId: string, ownerId: string, leaseDuration: number): Promise<LoadedRun | null> {
    const row = await this.claims.claim(runId, ownerId, leaseDuration);
    if (!row.run) return null;
    if (row.run.expires_at !== null && Number(row.run.expires_at) <= this.clock.now()) return { run: null, steps: [] };
    const run = toRunState(row.run);
    // NOTE: a write that committed while the claim waited for the row is missing from the checkpoints read.
    if (row.read_cursor !== run.cursor || Number(row.read_updated_at) !== run.updatedAt) return { run, steps: await this.listSteps(runId) };
    return { run, steps: (row.steps ?? []).map(toCheckpoint) };
  }

  async renewRunLease(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    return (await this.write(sql.renewRun, () => this.leaseValues(runId, ownerId, leaseDuration))).rows.length > 0;
  }

  /** Values of a lease write, taken when the statement is sent: a retry after an outage must not grant a lease that already ran out. */
  private leaseValues(runId: string, ownerId: string, leaseDuration: number): unknown[] {
    const now = this.clock.now();
    return [runId, ownerId, now, now + leaseDuration];
  }

  async releaseRun(runId: string, ownerId: string): Promise<boolean> {
    return (await this.write(sql.releaseRun, [runId, ownerId])).rows.length > 0;
  }

  watch(runId: string, listener: RunChangeListener): () => void {
    return this.watcher.watch(runId, listener);
  }

  /** Deletes ended runs (with their checkpoints) whose retention passed at `now`; returns how many. */
  async sweepExpired(now: number = this.clock.now(), limit = 1_000): Promise<number> {
    return (await this.write(sql.sweepExpired, [now, limit])).rowCount ?? 0;
  }

  /** Stops the sweep and watches and drops this store's reference to the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sweepTimer?.cancel();
      this.watcher.close();
      await Promise.all([this.inserts.drain(), this.checkpoints.drain(), this.claims.drain(), this.ends.drain(), this.reads.drain()]);
      await this.ctx.release();
    })();
    return this.closing;
  }

  private scheduleSweep(): void {
    if (this.sweepInterval <= 0 || this.retention <= 0 || this.closing) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      void this.sweepExpired()
        .catch((error: unknown) => this.ctx.logger.warn('Workflow retention sweep failed (it runs again later)', error))
        .finally(() => this.scheduleSweep());
    }, this.sweepInterval);
  }

  private changed(runId: string, done: boolean): boolean {
    if (done) this.watcher.changedHere(runId);
    return done;
  }

  /** Saves a checkpoint inside the transaction of `client` (a signal taken and stored at once). */
  private async saveStepWith(client: pg.PoolClient, runId: string, name: string, value: string | null, ownerId: string | undefined): Promise<boolean> {
    const { rows } = await client.query(sql.saveStep(this.ctx.s), [runId, name, value, this.clock.now(), ownerId ?? null, null]);
    // NOTE: a checkpoint leaves the status as it is, so watchers are not told (it saves a read).
    return rows.length > 0;
  }

  private async end(
    runId: string,
    status: 'completed' | 'failed' | 'cancelled' | 'retry',
    ownerId: string | undefined,
    change: { result?: unknown; error?: WorkflowRunError; cancellation?: WorkflowCancellationData },
  ): Promise<RunState | null> {
    const run = await this.ends.end(runId, status, ownerId, change);
    if (run) this.watcher.changedHere(runId, run);
    return run;
  }

  /** Sends a read (`build`: a statement of `sql`, prepared on each connection once). */
  private read<R extends pg.QueryResultRow>(build: (s: string) => string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const statement = preparedSql(build, this.ctx.s);
    return retryTransient(() => this.ctx.pool.query<R>(statement(values)));
  }

  /** Sends a write, again while it was not sent (`values` as a function: taken anew for each try). */
  private write<R extends pg.QueryResultRow>(build: (s: string) => string, values: unknown[] | (() => unknown[])): Promise<pg.QueryResult<R>> {
    const statement = preparedSql(build, this.ctx.s);
    return retryTransient(() => this.ctx.pool.query<R>(statement(typeof values === 'function' ? values() : values)), 10_000, isNotSentError);
  }
}
