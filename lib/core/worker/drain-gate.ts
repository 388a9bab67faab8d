import type { Clock, TimerHandle } from '../utils/clock.js';

/**
 * Waiting for a worker's running tasks to finish during shutdown: `wait` resolves `true` once
 * nothing runs, `false` after its timeout or, when interruptible, when a stronger shutdown
 * takes over (`interrupt`).
 */
export class DrainGate {
  private readonly waiters = new Set<() => void>();
  private interrupter?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly runningCount: () => number,
  ) {}

  /** Resolves `true` once nothing runs, `false` after `timeout` ms or on {@link interrupt} when `interruptible`. */
  wait(timeout: number, interruptible = false): Promise<boolean> {
    if (this.runningCount() === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (drained: boolean) => {
        timer?.cancel();
        this.waiters.delete(waiter);
        if (this.interrupter === interrupt) this.interrupter = undefined;
        resolve(drained);
      };
      const waiter = () => done(true);
      const interrupt = () => done(false);
      this.waiters.add(waiter);
      if (interruptible) this.interrupter = interrupt;
      if (Number.isFinite(timeout)) timer = this.clock.setTimeout(() => done(false), timeout);
    });
  }

  /** Ends the interruptible wait in progress with `false`. */
  interrupt(): void {
    this.interrupter?.();
  }

  /** Call when a task left: resolves the waits once nothing runs. */
  notify(): void {
    if (this.runningCount() > 0) return;
    for (const resolve of [...this.waiters]) resolve();
  }
}
