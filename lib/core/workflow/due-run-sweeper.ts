import type { Clock, TimerHandle } from '../utils/clock.js';
import type { WorkflowStore } from './workflow-store.js';

/**
 * The safety net behind delayed run tasks: every `interval` it asks the store for runs overdue
 * by more than `grace` (their delayed task went missing: a broker without persistence restarted,
 * an enqueue failed) and hands them to `resume`; with `orphanAfter`, also `running` runs whose
 * lease is free and that did not change for that long (their run task was lost, e.g. with a
 * server that went down while it ran). A run must stay unchanged that long to be an orphan, so the
 * timer looks for orphans every eighth of `orphanAfter` (at least every `interval`), not on every tick.
 */
export class DueRunSweeper {
  private timer: TimerHandle | undefined;
  private tick: Promise<void> | undefined;
  private stopped = true;
  private lastOrphanSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly interval: number,
    private readonly grace: number,
    private readonly batch: number,
    private readonly resume: (runId: string) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    /** Ms a free `running` run may stay unchanged before it is handed to `resume` again; 0: never. */
    private readonly orphanAfter = 0,
  ) {}

  /** Starts sweeping. Idempotent. */
  start(): void {
    if (!this.stopped || this.interval <= 0) return;
    this.stopped = false;
    this.schedule();
  }

  /** Sweeps once now (orphans too, unless `orphans` is false); resolves with the number of runs handed to `resume`. */
  async sweep(orphans = true): Promise<number> {
    const now = this.clock.now();
    const ids = await this.store.dueRuns(now - this.grace, { limit: this.batch });
    if (this.orphanAfter > 0 && orphans) {
      const runnable = await this.store.listRunnableRuns({ now, limit: this.batch });
      let found = 0;
      for (const run of runnable) {
        if (run.updatedAt > now - this.orphanAfter || ids.includes(run.id)) continue;
        ids.push(run.id);
        found++;
      }
      // NOTE: a full page with orphans in it may hide more (a crashed worker's backlog): look again at the next tick.
      if (found === 0 || runnable.length < this.batch) this.lastOrphanSweep = now;
    }
    const results = await Promise.allSettled(ids.map((id) => this.resume(id)));
    for (const r of results) if (r.status === 'rejected') this.onError(r.reason);
    return ids.length;
  }

  /** Stops sweeping and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.tick;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      const orphans = this.clock.now() - this.lastOrphanSweep >= Math.max(this.interval, this.orphanAfter / 8);
      this.tick = this.sweep(orphans)
        .then(
          () => undefined,
          (error) => this.onError(error),
        )
        .finally(() => {
          this.tick = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.interval);
  }
}
