import type { Clock, TimerHandle } from '../utils/clock.js';
import type { WorkflowStore } from './workflow-store.js';

/**
 * The safety net behind delayed run tasks: every `interval` it asks the store for runs overdue
 * by more than `grace` (their delayed task went missing: a broker without persistence restarted,
 * an enqueue failed) and hands them to `resume`.
 */
export class DueRunSweeper {
  private timer: TimerHandle | undefined;
  private tick: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly interval: number,
    private readonly grace: number,
    private readonly batch: number,
    private readonly resume: (runId: string) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts sweeping. Idempotent. */
  start(): void {
    if (!this.stopped || this.interval <= 0) return;
    this.stopped = false;
    this.schedule();
  }

  /** Sweeps once now; resolves with the number of runs handed to `resume`. */
  async sweep(): Promise<number> {
    const ids = await this.store.dueRuns(this.clock.now() - this.grace, { limit: this.batch });
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
      this.tick = this.sweep()
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
