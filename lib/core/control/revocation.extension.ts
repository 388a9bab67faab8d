import type { RevokeEntry } from '../contracts/control-store.js';
import { StemMeta, type TaskError } from '../envelope.js';
import type { TaskCancelledError } from '../errors/task-cancelled.error.js';
import { TaskRevokedError } from '../errors/task-revoked.error.js';
import type { Clock, TimerHandle } from '../utils/clock.js';
import type { TaskRun } from '../worker/task-executor.js';
import type { RunDecision, WorkerExtension } from '../worker/worker-extension.js';

/** Default time a terminated task gets to honour `ctx.signal` before its slot is freed, in ms. */
export const DEFAULT_TERMINATE_GRACE_PERIOD_MS = 1_000;

interface ActiveRun {
  readonly run: TaskRun;
  terminate?: (error: TaskCancelledError) => void;
}

/**
 * The worker extension that keeps revoked tasks from running. It holds the live revocations
 * (loaded from the store by {@link WorkerControl}):
 * - `beforeRun`: a revoked task (queued, delayed or prefetched) is acked and recorded `cancelled`
 *   with meta `stem.revoked.reason`, `stem.revoked.by`, `stem.revoked.at`;
 * - `wrapRun`: a running task revoked with `terminate` gets its `ctx.signal` aborted at once and,
 *   if it has not settled within the grace period, its attempt ends `cancelled` and frees the
 *   slot (a task in a pool thread has its thread terminated then); a running task revoked without it finishes, but a failure is not retried.
 */
export class RevocationExtension implements WorkerExtension {
  readonly name = 'revocation';
  private revokes = new Map<string, RevokeEntry>();
  private readonly active = new Map<string, ActiveRun>();
  /** Tasks cancelled because they were revoked. */
  revoked = 0;
  /**
   * Stops a running task at once where its executor can (a pool thread is terminated), failing
   * its attempt with `error`; returns whether it did. Used when a terminated task outlives the
   * grace period, so a thread that ignores `ctx.signal` does not keep running.
   */
  kill?: (taskId: string, error: Error) => boolean;

  constructor(
    private readonly clock: Clock,
    private readonly gracePeriod: number = DEFAULT_TERMINATE_GRACE_PERIOD_MS,
    private readonly onRevoked?: (run: TaskRun, entry: RevokeEntry) => void,
  ) {}

  /** Replaces the live revocations; terminates running tasks that a `terminate` entry names. Returns the ids terminated. */
  replace(entries: readonly RevokeEntry[]): string[] {
    this.revokes = new Map(entries.map((e) => [e.taskId, e]));
    const terminated: string[] = [];
    for (const [taskId, active] of this.active) {
      const entry = this.live(taskId);
      if (entry?.terminate && active.terminate) {
        active.terminate(this.errorFor(taskId, entry));
        active.terminate = undefined;
        terminated.push(taskId);
      }
    }
    return terminated;
  }

  /** Live revoked task ids (at most `limit`) and how many there are. */
  list(limit: number): { ids: string[]; total: number } {
    const ids = [...this.revokes.keys()];
    return { ids: ids.slice(0, limit), total: ids.length };
  }

  beforeRun(run: TaskRun): RunDecision | undefined {
    const entry = this.live(run.envelope.id);
    if (!entry) return undefined;
    this.revoked++;
    this.onRevoked?.(run, entry);
    const error = this.errorFor(run.envelope.id, entry);
    return { action: 'cancel', error: this.taskError(error), meta: error.meta };
  }

  async wrapRun(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    const id = run.envelope.id;
    const active: ActiveRun = { run };
    let timer: TimerHandle | undefined;
    const terminated = new Promise<never>((_, reject) => {
      active.terminate = (error) => {
        this.revoked++;
        this.onRevoked?.(run, this.revokes.get(id)!);
        run.abort(error);
        timer = this.clock.setTimeout(() => {
          if (!this.kill?.(id, error)) reject(error);
        }, this.gracePeriod);
      };
    });
    this.active.set(id, active);
    try {
      return await Promise.race([next(), terminated]);
    } catch (error) {
      const entry = this.live(id);
      // NOTE: a task revoked while it ran is not retried: the abort reason makes the worker record it `cancelled`.
      if (entry) run.abort(this.errorFor(id, entry));
      throw error;
    } finally {
      timer?.cancel();
      this.active.delete(id);
    }
  }

  private live(taskId: string): RevokeEntry | undefined {
    const entry = this.revokes.get(taskId);
    return entry && (entry.expiresAt === undefined || entry.expiresAt > this.clock.now()) ? entry : undefined;
  }

  private errorFor(taskId: string, entry: RevokeEntry): TaskRevokedError {
    const meta = {
      [StemMeta.revokedReason]: entry.reason ?? null,
      [StemMeta.revokedBy]: entry.requestedBy ?? null,
      [StemMeta.revokedAt]: entry.issuedAt,
    };
    return new TaskRevokedError(taskId, `Task ${taskId} was revoked${entry.reason ? `: ${entry.reason}` : ''}${entry.requestedBy ? ` (by ${entry.requestedBy})` : ''}`, meta);
  }

  private taskError(error: TaskCancelledError): TaskError {
    return { type: error.name, message: error.message, retryable: false, meta: { ...error.meta } };
  }
}
