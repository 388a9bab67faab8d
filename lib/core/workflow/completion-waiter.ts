import type { Clock, TimerHandle } from '../utils/clock.js';
import { WorkflowRunNotFoundError } from './errors/workflow-run-not-found.error.js';
import { isTerminalWorkflowStatus, type RunState } from './run-state.js';
import type { WaitForWorkflowOptions, WorkflowCompletion } from './workflow-client.js';
import { toMillis } from './workflow-duration.js';
import type { WorkflowStore } from './workflow-store.js';

/**
 * Waits for a run to end through the store's `watch` (no polling), with a timeout on `clock`.
 * Subscribes before reading, so an end between the two is not missed.
 */
export function waitForRunCompletion<T>(store: WorkflowStore, clock: Clock, runId: string, options: WaitForWorkflowOptions<T> = {}): Promise<WorkflowCompletion<T>> {
  const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, 'waitForCompletion timeout');
  return new Promise<WorkflowCompletion<T>>((resolve, reject) => {
    let settled = false;
    let timer: TimerHandle | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      timer?.cancel();
      fn();
    };
    const done = (state: RunState, timedOut: boolean) =>
      settle(() => {
        try {
          const value = state.status === 'completed' ? (options.decode ? options.decode(state.result) : (state.result as T)) : undefined;
          resolve({ value, state, timedOut });
        } catch (error) {
          reject(error);
        }
      });
    const unsubscribe = store.watch(runId, (state) => {
      if (isTerminalWorkflowStatus(state.status)) done(state, false);
    });
    // NOTE: the timer starts now, not after the first read, so a caller that advances a fake
    // clock right after calling this sees the timeout it asked for.
    if (timeout !== undefined) {
      timer = clock.setTimeout(() => {
        store.get(runId).then(
          (last) => (last ? done(last, !isTerminalWorkflowStatus(last.status)) : settle(() => reject(new WorkflowRunNotFoundError(runId)))),
          (error) => settle(() => reject(error)),
        );
      }, timeout);
    }
    store.get(runId).then(
      (state) => {
        if (!state) return settle(() => reject(new WorkflowRunNotFoundError(runId)));
        if (isTerminalWorkflowStatus(state.status)) done(state, false);
      },
      (error) => settle(() => reject(error)),
    );
  });
}
