import type { TaskRun } from './task-executor.js';
import type { TaskOutcome } from './task-outcome.js';
import type { RunDecision, WorkerExtension } from './worker-extension.js';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * A worker's extensions, sorted by hook once so that each delivery only calls the hooks that
 * exist: with no `beforeRun` or `wrapRun` hook the runner skips them without an `await`, and
 * `settle` stays synchronous while no `onSettled` returns a promise.
 */
export class ExtensionChain {
  private readonly admitters: readonly WorkerExtension[];
  private readonly wrappers: readonly WorkerExtension[];
  private readonly settlers: readonly WorkerExtension[];

  /** @param report receives every error an `onSettled` hook throws */
  constructor(
    extensions: readonly WorkerExtension[],
    private readonly report: (error: unknown) => void,
  ) {
    this.admitters = extensions.filter((e) => e.beforeRun);
    this.wrappers = extensions.filter((e) => e.wrapRun);
    this.settlers = extensions.filter((e) => e.onSettled);
  }

  /** Whether any extension has `beforeRun`. */
  get admits(): boolean {
    return this.admitters.length > 0;
  }

  /** Whether any extension has `wrapRun`. */
  get wraps(): boolean {
    return this.wrappers.length > 0;
  }

  /** The first decision other than `run`, or `undefined` when every extension admits the attempt. */
  async admit(run: TaskRun): Promise<Exclude<RunDecision, { action: 'run' }> | undefined> {
    for (const extension of this.admitters) {
      const decision = await extension.beforeRun!(run);
      if (decision && decision.action !== 'run') return decision;
    }
    return undefined;
  }

  /** Runs `execute` inside every `wrapRun`, the first extension outermost. */
  wrap(run: TaskRun, execute: () => Promise<unknown>): Promise<unknown> {
    const call = (index: number): Promise<unknown> => (index === this.wrappers.length ? execute() : this.wrappers[index]!.wrapRun!(run, () => call(index + 1)));
    return call(0);
  }

  /**
   * Whether some `onSettled` hook has work for `outcome` before the ack (see
   * `WorkerExtension.followsUp`). A `followsUp` that throws is reported and counts as `true`.
   */
  followsUp(outcome: TaskOutcome): boolean {
    for (const extension of this.settlers) {
      if (!extension.followsUp) return true;
      try {
        if (extension.followsUp(outcome)) return true;
      } catch (error) {
        this.report(error);
        return true;
      }
    }
    return false;
  }

  /**
   * Tells every `onSettled` hook, in order. Returns `undefined` when every hook returned
   * synchronously, else a promise of the rest.
   * @param mayRequeue the delivery is not acked yet and can still be requeued (a success): a
   * failing extension with `requeueOnFailure` then throws (or rejects) instead of going on
   */
  settle(outcome: TaskOutcome, mayRequeue: boolean): Promise<void> | undefined {
    return this.settleFrom(0, outcome, mayRequeue);
  }

  private settleFrom(index: number, outcome: TaskOutcome, mayRequeue: boolean): Promise<void> | undefined {
    for (let i = index; i < this.settlers.length; i++) {
      const extension = this.settlers[i]!;
      let pending: void | PromiseLike<unknown>;
      try {
        pending = extension.onSettled!(outcome);
      } catch (error) {
        this.failed(extension, error, mayRequeue);
        continue;
      }
      if (isPromiseLike(pending)) {
        return Promise.resolve(pending).then(
          () => this.settleFrom(i + 1, outcome, mayRequeue),
          (error: unknown) => {
            this.failed(extension, error, mayRequeue);
            return this.settleFrom(i + 1, outcome, mayRequeue);
          },
        );
      }
    }
    return undefined;
  }

  private failed(extension: WorkerExtension, error: unknown, mayRequeue: boolean): void {
    this.report(error);
    if (mayRequeue && extension.requeueOnFailure) throw error ?? new Error(`Worker extension "${extension.name}" failed after the task succeeded; the delivery is requeued`);
  }
}
