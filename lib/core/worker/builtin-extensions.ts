import type { UniqueTaskCoordinator } from '../unique/unique-task-coordinator.js';
import type { TaskOutcome } from './task-outcome.js';
import type { WorkerExtension } from './worker-extension.js';
import type { TerminalTaskHook } from './worker.options.js';

/** Releases the unique lock of a task once it reached a terminal state; retries keep it. */
export function uniqueLockExtension(coordinator: UniqueTaskCoordinator): WorkerExtension {
  return {
    name: 'unique-lock',
    onSettled: (outcome: TaskOutcome) => (outcome.state === 'retried' ? undefined : coordinator.release(outcome.envelope)),
    followsUp: (outcome: TaskOutcome) => outcome.state !== 'retried' && coordinator.holdsLock(outcome.envelope),
  };
}

/** Runs a user `onTerminal` hook on terminal outcomes. */
export function terminalHookExtension(hook: TerminalTaskHook, index: number): WorkerExtension {
  return {
    name: `onTerminal[${index}]`,
    onSettled: (outcome: TaskOutcome) => (outcome.state === 'retried' ? undefined : hook(outcome)),
  };
}
