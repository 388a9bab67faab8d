import type { TaskContext } from '../task-context.js';
import type { Clock, TimerHandle } from '../utils/clock.js';
import { uuidv7 } from '../utils/uuid.js';
import type { RunDecision, WorkerExtension } from '../worker/worker-extension.js';
import { WorkflowLeaseLostError } from './errors/workflow-lease-lost.error.js';
import { WORKFLOW_RUN_TASK } from './workflow.constants.js';
import type { RunAbort } from './run-execution.js';
import type { LoadedRun, WorkflowStore } from './workflow-store.js';

/** Shortest delay before a run task whose run is leased elsewhere is tried again. */
const MIN_LEASE_WAIT_MS = 50;

/** The run lease a worker took for one run task attempt. */
export interface HeldRunLease {
  readonly runId: string;
  readonly ownerId: string;
  /** Set by the executor when the run ended under this lease (nothing can be due then). */
  ended?: boolean;
  /** The run and its checkpoints as the claim found them, when the store loads them with the claim. */
  readonly loaded?: LoadedRun;
  /** The attempt running under the lease (set by `wrapRun`): whether it was aborted, and its signal. */
  attempt?: RunAbort;
}

/**
 * The run leases of run tasks: `beforeRun` claims the run for the attempt (a run leased by a
 * live owner elsewhere puts the task back until that lease ends, without using an attempt);
 * `wrapRun` renews the lease at half its length while the run executes and releases it after.
 */
export class RunLeaseExtension implements WorkerExtension {
  readonly name = 'stem.workflow.run-lease';
  private readonly held = new WeakMap<TaskContext, HeldRunLease>();
  /** Owner tokens are `<prefix>:<nonce>.<n>`: the nonce (a UUIDv7 per extension) keeps them unique across processes sharing a prefix. */
  private readonly nonce: string;
  private owners = 0;

  constructor(
    private readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly ownerPrefix: string,
    /** Called after a lease was released: the run may have become due while it was held. */
    private readonly onReleased: (runId: string) => Promise<void>,
  ) {
    this.nonce = uuidv7(clock.now());
  }

  /** A fresh owner token (never the same twice). */
  newOwner(): string {
    return `${this.ownerPrefix}:${this.nonce}.${++this.owners}`;
  }

  /** The lease the extension holds for a task attempt's context, if any. */
  leaseOf(ctx: TaskContext): HeldRunLease | undefined {
    return this.held.get(ctx);
  }

  async beforeRun(run: Parameters<NonNullable<WorkerExtension['beforeRun']>>[0]): Promise<RunDecision | undefined> {
    if (run.envelope.name !== WORKFLOW_RUN_TASK) return undefined;
    const runId = (run.args as { runId?: unknown } | null)?.runId;
    if (typeof runId !== 'string') return undefined;
    const ownerId = this.newOwner();
    const claimed = await this.claimLoading(runId, ownerId);
    if (claimed) {
      this.held.set(run.context, { runId, ownerId, ...claimed });
      return undefined;
    }
    const state = await this.store.get(runId);
    // NOTE: a run that no longer exists (removed by retention, never created) has nothing to wait
    // for: the run task goes on, finds no run and ends instead of being put back forever.
    if (!state) return undefined;
    const wait = Math.max(MIN_LEASE_WAIT_MS, (state?.leaseExpiresAt ?? this.clock.now()) - this.clock.now());
    return { action: 'delay', delayMs: wait, reason: `workflow run ${runId} is leased by ${state?.ownerId ?? 'another executor'}` };
  }

  async wrapRun(run: Parameters<NonNullable<WorkerExtension['wrapRun']>>[0], next: () => Promise<unknown>): Promise<unknown> {
    const lease = this.held.get(run.context);
    if (!lease) return next();
    lease.attempt = run;
    const stop = this.keepAlive(lease, (error) => run.abort(error));
    try {
      return await next();
    } finally {
      stop();
      this.held.delete(run.context);
      await this.release(lease);
    }
  }

  /**
   * Releases `lease`, then hands the run to `onReleased`: an event or signal that arrived while
   * the lease was held found its run task put back until the lease ended; this resumes the run
   * now instead.
   */
  async release(lease: HeldRunLease): Promise<void> {
    // NOTE: ending a run clears its lease in the same write: an ended run has nothing to release.
    if (lease.ended) return;
    if (await this.store.releaseRun(lease.runId, lease.ownerId)) await this.onReleased(lease.runId);
  }

  /**
   * Claims `runId` for `ownerId`. A claim that took more than half a lease to answer (a store
   * coming back from an outage, a queue of waiting requests) is claimed again, so the lease the
   * executor starts with was granted just now, not one that may already have run out.
   */
  async claim(runId: string, ownerId: string): Promise<boolean> {
    return (await this.claimLoading(runId, ownerId)) !== null;
  }

  /** {@link claim}, with the run and its checkpoints when the store loads them with the claim (`claimAndLoad`); `null` when not claimed. */
  async claimLoading(runId: string, ownerId: string): Promise<{ loaded?: LoadedRun } | null> {
    const sent = this.clock.now();
    const first = await this.take(runId, ownerId);
    if (!first || this.clock.now() - sent <= this.leaseMs / 2) return first;
    return this.take(runId, ownerId);
  }

  private async take(runId: string, ownerId: string): Promise<{ loaded?: LoadedRun } | null> {
    if (!this.store.claimAndLoad) return (await this.store.claimRun(runId, ownerId, this.leaseMs)) ? {} : null;
    const loaded = await this.store.claimAndLoad(runId, ownerId, this.leaseMs);
    return loaded ? { loaded } : null;
  }

  /**
   * Renews `lease` at half its length, counted from when each renewal was sent, until the
   * returned function is called; `onLost` when a renewal is refused.
   */
  keepAlive(lease: HeldRunLease, onLost: (error: WorkflowLeaseLostError) => void): () => void {
    let timer: TimerHandle | undefined;
    let stopped = false;
    const schedule = (from: number) => {
      timer = this.clock.setTimeout(
        () => {
          const sent = this.clock.now();
          void this.store.renewRunLease(lease.runId, lease.ownerId, this.leaseMs).then(
            (renewed) => {
              if (stopped) return;
              if (renewed) schedule(sent);
              else onLost(new WorkflowLeaseLostError(lease.runId, lease.ownerId));
            },
            () => !stopped && schedule(this.clock.now() - this.leaseMs / 2 + MIN_LEASE_WAIT_MS),
          );
        },
        Math.max(0, from + this.leaseMs / 2 - this.clock.now()),
      );
    };
    schedule(this.clock.now());
    return () => {
      stopped = true;
      timer?.cancel();
    };
  }
}
