import type { Duration } from '../../core/beat/duration.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';
import { uuidv7 } from '../../core/utils/uuid.js';
import { DuplicateWorkflowRunError } from '../../core/workflow/errors/duplicate-workflow-run.error.js';
import { WorkflowRunNotFoundError } from '../../core/workflow/errors/workflow-run-not-found.error.js';
import { WorkflowStepNotFoundError } from '../../core/workflow/errors/workflow-step-not-found.error.js';
import type { RunState, StepCheckpoint, WatcherResolution, WorkflowCancellationData, WorkflowRunError, WorkflowSignal, WorkflowWatcher } from '../../core/workflow/run-state.js';
import { childSignalName } from '../../core/workflow/workflow.constants.js';
import { toMillis } from '../../core/workflow/workflow-duration.js';
import {
  childRunOutcome,
  type ChildRunOutcome,
  type CreateWorkflowRun,
  type ListWorkflowRunsQuery,
  type LoadedRun,
  type RunChangeListener,
  type WorkflowStore,
} from '../../core/workflow/workflow-store.js';
import { RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisSubscriber } from './redis.subscriber.js';
import { resolveRedisUrl } from './redis.url.js';
import { decodeRun, decodeSignal, decodeStep, encodePayload, encodeValue, endArgs, type RawRunState } from './redis.workflow-codec.js';
import { RedisWorkflowContext } from './redis.workflow-context.js';
import { RedisWorkflowIndex } from './redis.workflow-index.js';
import { RedisWorkflowKeys } from './redis.workflow-keys.js';
import { RedisRunOps } from './redis.workflow-ops.js';
import { RedisWorkflowWatch } from './redis.workflow-watch.js';
import { RedisWorkflowWaits } from './redis.workflow-waits.js';
import { scripts } from './scripts/index.js';

/** How long ended runs are kept unless a store is told otherwise. */
export const DEFAULT_WORKFLOW_RETENTION = '7d';

/** Options of {@link RedisWorkflowStore.connect}. */
export interface RedisWorkflowStoreOptions extends RedisConnectionOptions {
  /** Time of every stored stamp and lease. @default systemClock */
  readonly clock?: Clock;
  /** How long completed, failed and cancelled runs (and their checkpoints) are kept; `false` keeps them. @default '7d' */
  readonly retention?: Duration | false;
  /** How often `watch` re-reads a run when no notification came (the fallback of pub/sub), ms. @default 5000 */
  readonly watchPollInterval?: number;
}

type SuspendOptions = { readonly data?: unknown; readonly iteration?: number; readonly ownerId?: string };
type WaitOptions = SuspendOptions & { readonly deadline?: number | null; readonly requestedDeadline?: number | null };

/**
 * A {@link WorkflowStore} on Redis (standalone or Cluster). A run is a HASH with its checkpoint
 * LIST/HASH and signal LIST, all under the run's hash tag, and every transition is one Lua script
 * on that slot (`scripts/workflow-*.lua.ts`): checkpoint writes checked against the run lease,
 * suspensions, watcher resolution, resumes, signals, rewinds and leases are atomic per run. The
 * listing, due and watcher indexes live on other slots and are kept a superset of the truth (see
 * {@link RedisWorkflowWaits}). Ended runs expire after `retention`. `watch` is fed by this
 * instance's writes, by a pub/sub channel per run (ends and rewinds from any process) and by a
 * poll as fallback.
 *
 * @example
 * const store = await RedisWorkflowStore.connect('redis://127.0.0.1:6379', { retention: '3d' });
 */
export class RedisWorkflowStore implements WorkflowStore {
  readonly name = 'redis';
  private readonly ctx: RedisWorkflowContext;
  private readonly index: RedisWorkflowIndex;
  private readonly waits: RedisWorkflowWaits;
  private readonly watcher: RedisWorkflowWatch;
  private readonly keys: RedisWorkflowKeys;
  private readonly ops: RedisRunOps;
  private readonly clock: Clock;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisWorkflowStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.keys = new RedisWorkflowKeys(options.prefix ?? 'stem');
    const retention = options.retention === false ? 0 : toMillis(options.retention ?? DEFAULT_WORKFLOW_RETENTION, 'retention');
    this.ops = new RedisRunOps(shared.connection, this.keys);
    this.ctx = new RedisWorkflowContext(shared.connection, this.keys, this.clock, retention, this.ops);
    this.index = new RedisWorkflowIndex(this.ctx);
    this.waits = new RedisWorkflowWaits(this.ctx);
    const subscriber = new RedisSubscriber(() => shared.connection.duplicate({ enableAutoPipelining: false }));
    this.watcher = new RedisWorkflowWatch(this.ctx, subscriber, options.watchPollInterval ?? 5_000);
  }

  /**
   * Connects to Redis (`?prefix=` in the URL is honoured) and returns a workflow store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisWorkflowStoreOptions = {}): Promise<RedisWorkflowStore> {
    const target = resolveRedisUrl(url, options);
    return new RedisWorkflowStore(await Connection.share(target.url, target.options), target.options);
  }

  async createRun(input: CreateWorkflowRun): Promise<RunState> {
    const id = input.runId ?? uuidv7();
    const now = this.clock.now();
    const params = encodePayload(input.params);
    const policy = encodePayload(input.cancellationPolicy ?? null);
    const metadata = JSON.stringify(input.metadata ?? {});
    const [taken, indexed] = await this.ops.runIndexing<string | null>('create', id, [id, input.workflow, params, input.parentRunId ?? '', now, policy, metadata]);
    if (taken !== null) throw new DuplicateWorkflowRunError(id, taken);
    const run: RunState = {
      id,
      workflow: input.workflow,
      status: 'running',
      cursor: 0,
      params: JSON.parse(params) as unknown,
      parentRunId: input.parentRunId ?? null,
      createdAt: now,
      updatedAt: now,
      waitTopic: null,
      resumeAt: null,
      suspension: null,
      resumeData: null,
      lastError: null,
      ownerId: null,
      leaseExpiresAt: null,
      cancellationPolicy: input.cancellationPolicy ? (JSON.parse(policy) as RunState['cancellationPolicy']) : null,
      cancellationData: null,
      metadata: JSON.parse(metadata) as RunState['metadata'],
    };
    if (!indexed) await this.index.added(run);
    return run;
  }

  async get(runId: string): Promise<RunState | null> {
    return decodeRun(await this.ops.run<RawRunState>('get', runId, []), this.clock.now());
  }

  async listRuns(query: ListWorkflowRunsQuery = {}): Promise<RunState[]> {
    await this.index.sweepExpired(this.clock.now());
    return this.index.list(query);
  }

  async listRunnableRuns(query: { now: number; limit?: number; offset?: number }): Promise<RunState[]> {
    const { runnable, unfinished } = await this.index.runnable(query.now, query.limit, query.offset);
    await Promise.all(unfinished.map((run) => this.finishEnd(run)));
    return runnable;
  }

  async readStep(runId: string, name: string): Promise<StepCheckpoint | null> {
    if (!(await this.ctx.readRun(runId))) return null;
    const [, entries, position] = await scripts.wfSteps.run<[string[], (string | null)[], number]>(this.ctx.connection, this.keys.run(runId), [name]);
    return entries[0] ? decodeStep(name, entries[0], Number(position)) : null;
  }

  async saveStep(runId: string, name: string, value: unknown, options: { ownerId?: string; meta?: Readonly<Record<string, unknown>> } = {}): Promise<boolean> {
    const meta = options.meta ? JSON.stringify(options.meta) : '';
    const written = await this.ops.run<number>('save-step', runId, [name, encodeValue(value), this.clock.now(), options.ownerId ?? '', meta]);
    // NOTE: a checkpoint leaves the status as it is, so watchers are not told (it saves a read).
    return Number(written) === 1;
  }

  async listSteps(runId: string): Promise<StepCheckpoint[]> {
    const [names, entries] = await scripts.wfSteps.run<[string[], (string | null)[], number]>(this.ctx.connection, this.keys.run(runId), ['', this.clock.now()]);
    return names.flatMap((name, i) => (entries[i] ? [decodeStep(name, entries[i], i)] : []));
  }

  async rewindToStep(runId: string, step: string): Promise<RunState> {
    const now = this.clock.now();
    if (!(await this.ctx.readRun(runId))) throw new WorkflowRunNotFoundError(runId);
    await this.waits.dueAt(runId, now);
    const out = await scripts.wfRewind.run<[number, unknown?, string?]>(this.ctx.connection, this.keys.run(runId), [step, now, this.keys.changed]);
    if (Number(out[0]) === -1) throw new WorkflowRunNotFoundError(runId);
    if (Number(out[0]) === -2) {
      await this.waits.notDue(runId);
      throw new WorkflowStepNotFoundError(runId, step, out[1] as string[]);
    }
    const run = decodeRun(out[1] as RawRunState, now)!;
    await Promise.all([this.waits.unregistered(out[2] || null, runId), this.index.revived(run, now)]);
    this.watcher.changedHere(runId, run);
    return run;
  }

  suspendUntil(runId: string, step: string, resumeAt: number, options: SuspendOptions & { type?: 'sleep' | 'retry'; requestedResumeAt?: number | null } = {}): Promise<boolean> {
    return this.suspend(runId, options.type ?? 'sleep', step, { resumeAt, requestedResumeAt: options.requestedResumeAt ?? resumeAt }, options);
  }

  async suspendOnTopic(runId: string, step: string, topic: string, options: WaitOptions = {}): Promise<boolean> {
    const deadline = options.deadline ?? null;
    await this.waits.registering(topic, runId);
    // NOTE: a refused suspension leaves its index entry: another executor of the run may have
    // suspended it on the same topic, and that suspension needs the entry. Readers drop it once
    // the run no longer waits on the topic.
    return this.suspend(runId, 'event', step, { topic, resumeAt: deadline, requestedResumeAt: options.requestedDeadline ?? deadline }, options);
  }

  suspendOnSignal(runId: string, step: string, name: string, options: WaitOptions = {}): Promise<boolean> {
    const deadline = options.deadline ?? null;
    return this.suspend(runId, 'signal', step, { signal: name, resumeAt: deadline, requestedResumeAt: options.requestedDeadline ?? deadline }, options);
  }

  resolveWatchers(topic: string, payload: unknown, options: { limit?: number } = {}): Promise<WatcherResolution[]> {
    return this.waits.resolve(topic, payload, options.limit).then((resolved) => {
      for (const r of resolved) this.watcher.changedHere(r.runId);
      return resolved;
    });
  }

  listWatchers(topic?: string, options: { limit?: number } = {}): Promise<WorkflowWatcher[]> {
    return this.waits.list(topic, options.limit);
  }

  runsWaitingOn(topic: string): Promise<string[]> {
    return this.waits.waiting(topic);
  }

  dueRuns(now: number, options: { limit?: number; claimFor?: number } = {}): Promise<string[]> {
    return this.waits.due(now, options.limit, options.claimFor);
  }

  async markResumed(runId: string, options: { now?: number; data?: unknown } = {}): Promise<RunState | null> {
    const now = options.now ?? this.clock.now();
    const data = options.data === undefined ? '' : encodePayload(options.data);
    const out = await scripts.wfResume.run<[RawRunState, string] | null>(this.ctx.connection, this.keys.run(runId), [now, data]);
    if (!out) return null;
    const run = decodeRun(out[0], this.clock.now());
    // NOTE: a suspended run is out of the sweeps' reach; a resumed one is runnable once its lease
    // (if any) runs out.
    const from = Math.min(now, this.clock.now());
    const leased = run?.ownerId && (run.leaseExpiresAt ?? 0) > from ? run.leaseExpiresAt! : from;
    await Promise.all([this.index.mayRun(runId, leased, { notDue: true }), this.waits.unregistered(out[1] || null, runId)]);
    this.watcher.changedHere(runId, run);
    return run;
  }

  async sendSignal(runId: string, name: string, payload: unknown): Promise<{ stored: boolean; woke: boolean }> {
    const now = this.clock.now();
    const code = Number(await scripts.wfSignalSend.run<number>(this.ctx.connection, this.keys.run(runId), [name, encodePayload(payload), now]));
    if (code === -1) throw new WorkflowRunNotFoundError(runId);
    if (code === 2) await this.waits.dueAt(runId, now);
    if (code > 0) this.watcher.changedHere(runId);
    return { stored: code > 0, woke: code === 2 };
  }

  async takeSignal(runId: string, name: string, step: string, options: { ownerId?: string } = {}): Promise<{ payload: unknown } | null> {
    const payload = await scripts.wfSignalTake.run<string | null>(this.ctx.connection, this.keys.run(runId), [name, step, this.clock.now(), options.ownerId ?? '']);
    if (payload === null) return null;
    return { payload: JSON.parse(payload) };
  }

  async listSignals(runId: string): Promise<WorkflowSignal[]> {
    if (!(await this.ctx.readRun(runId))) return [];
    const entries = await this.ctx.connection.command<string[]>('lrange', this.keys.run(runId)[3], 0, -1);
    return entries.map((entry) => decodeSignal(runId, entry));
  }

  markCompleted(runId: string, result: unknown, options: { ownerId?: string } = {}): Promise<RunState | null> {
    return this.end(runId, 'completed', { result: encodeValue(result), ownerId: options.ownerId });
  }

  markFailed(runId: string, error: WorkflowRunError, options: { terminal: boolean; ownerId?: string }): Promise<RunState | null> {
    return this.end(runId, options.terminal ? 'failed' : 'retry', { error, ownerId: options.ownerId });
  }

  cancel(runId: string, data: Omit<WorkflowCancellationData, 'cancelledAt'> & { cancelledAt?: number }): Promise<RunState | null> {
    return this.end(runId, 'cancelled', { cancellation: { ...data, cancelledAt: data.cancelledAt ?? this.clock.now() } });
  }

  async claimRun(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    return this.lease('claim', runId, ownerId, leaseDuration);
  }

  async claimAndLoad(runId: string, ownerId: string, leaseDuration: number): Promise<LoadedRun | null> {
    const now = this.clock.now();
    const out = await this.ops.run<[RawRunState, string[], (string | null)[]] | null>('claim-load', runId, [ownerId, now, now + leaseDuration]);
    if (!out) return null;
    const run = decodeRun(out[0], this.clock.now());
    if (!run) return { run: null, steps: [] };
    return { run, steps: out[1].flatMap((name, i) => (out[2][i] ? [decodeStep(name, out[2][i], i)] : [])) };
  }

  async renewRunLease(runId: string, ownerId: string, leaseDuration: number): Promise<boolean> {
    return this.lease('renew', runId, ownerId, leaseDuration);
  }

  async releaseRun(runId: string, ownerId: string): Promise<boolean> {
    const now = this.clock.now();
    const released = Number(await scripts.wfLease.run<number>(this.ctx.connection, this.keys.run(runId), ['release', ownerId, now, now]));
    if (released === 2) await this.index.mayRun(runId, now);
    return released > 0;
  }

  watch(runId: string, listener: RunChangeListener): () => void {
    return this.watcher.watch(runId, listener);
  }

  /**
   * Drops the index entries (and any keys left) of ended runs whose retention passed; listing
   * does it too. Returns how many runs it dropped.
   */
  sweepExpired(now: number = this.clock.now()): Promise<number> {
    return this.index.sweepExpired(now);
  }

  /** Stops watches and gives the shared connection back. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.watcher.close();
      await this.shared.release();
    })();
    return this.closing;
  }

  private async suspend(
    runId: string,
    kind: 'sleep' | 'retry' | 'event' | 'signal',
    step: string,
    at: { topic?: string; signal?: string; resumeAt: number | null; requestedResumeAt: number | null },
    options: SuspendOptions,
  ): Promise<boolean> {
    const now = this.clock.now();
    const suspension = {
      type: kind,
      step,
      ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
      suspendedAt: now,
      resumeAt: at.resumeAt,
      requestedResumeAt: at.requestedResumeAt,
      ...(at.topic !== undefined ? { topic: at.topic } : {}),
      ...(at.signal !== undefined ? { signal: at.signal } : {}),
      ...(options.data !== undefined ? { data: options.data } : {}),
    };
    if (at.resumeAt !== null) await this.waits.dueAt(runId, at.resumeAt);
    const done = await scripts.wfSuspend.run<number>(this.ctx.connection, this.keys.run(runId), [
      now,
      options.ownerId ?? '',
      kind,
      step,
      JSON.stringify(suspension),
      at.resumeAt ?? '',
      at.topic ?? '',
      at.signal ?? '',
      encodeValue(options.data),
    ]);
    if (Number(done) !== 1) return false;
    if (at.resumeAt === null) await this.waits.notDue(runId);
    this.watcher.changedHere(runId);
    return true;
  }

  /** Ends (or records a retryable error of) the run; its listeners hear it from this write, not from the channel. */
  private end(
    runId: string,
    status: 'completed' | 'failed' | 'cancelled' | 'retry',
    change: { result?: string; error?: WorkflowRunError; cancellation?: WorkflowCancellationData; ownerId?: string | undefined },
  ): Promise<RunState | null> {
    return this.watcher.endingHere(runId, status !== 'retry', async () => {
      const now = this.clock.now();
      const retention = this.ctx.retention;
      const [out, indexed] = await this.ops.runIndexing<[RawRunState, string] | null>('end', runId, endArgs(status, now, change, retention, this.keys.changed));
      // NOTE: refused: another end (maybe another process's, whose announcement was skipped) came first.
      if (!out) {
        this.watcher.changedHere(runId);
        return null;
      }
      const run = decodeRun(out[0], now)!;
      if (status === 'retry') {
        if (run.ownerId === null || (run.leaseExpiresAt ?? 0) <= now) await this.index.mayRun(runId, now);
      } else await this.waits.unregistered(out[1] || null, runId);
      this.watcher.changedHere(runId, run);
      // NOTE: the end of a run without a parent wrote its index move itself when it could.
      if (status !== 'retry' && !(indexed && run.parentRunId === null)) await this.finishEnd(run);
      return run;
    });
  }

  /**
   * The steps of an end outside the run's slot: the parent's signal, then the move out of the
   * active and due indexes. An ended run still in the active index may not have signalled its parent (its
   * process stopped in between), so `listRunnableRuns` finishes those.
   */
  private async finishEnd(run: RunState): Promise<void> {
    if (run.parentRunId) await this.signalParent(run);
    const retention = this.ctx.retention;
    await this.index.ended(run, retention > 0 ? run.updatedAt + retention : null);
  }

  private async signalParent(run: RunState): Promise<void> {
    const outcome = childRunOutcome(run, run.status as ChildRunOutcome['status']);
    try {
      await this.sendSignal(run.parentRunId!, childSignalName(run.id), outcome);
    } catch (error) {
      if (!(error instanceof WorkflowRunNotFoundError)) throw error;
    }
  }

  private async lease(mode: 'claim' | 'renew' | 'release', runId: string, ownerId: string, duration: number): Promise<boolean> {
    const now = this.clock.now();
    return Number(await scripts.wfLease.run<number>(this.ctx.connection, this.keys.run(runId), [mode, ownerId, now, now + duration])) === 1;
  }
}
