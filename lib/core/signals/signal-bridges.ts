import type { BeatEvents } from '../beat/beat.events.js';
import type { TypedEmitter } from '../utils/typed-emitter.js';
import type { WorkflowEvents } from '../workflow/workflow.events.js';
import { StemSignals } from './stem-signals.js';

/** The signal hub a producer-like object carries (`Stem.signals`), if any. */
export function signalsOf(producer: unknown): StemSignals | undefined {
  const signals = (producer as { signals?: unknown } | undefined)?.signals;
  return signals instanceof StemSignals ? signals : undefined;
}

/** Emits Beat's `schedule:due`, `schedule:dispatched` and `schedule:failed` as the `schedule-entry-*` signals. */
export function bridgeBeatSignals(events: TypedEmitter<BeatEvents>, signals: StemSignals, beatId: string): void {
  events.on('schedule:due', (entry) => signals.emit('schedule-entry-due', { beatId, entry }));
  events.on('schedule:dispatched', (dispatch) => signals.emit('schedule-entry-dispatched', { beatId, dispatch }));
  events.on('schedule:failed', (entry, error, scheduledFor) => signals.emit('schedule-entry-failed', { beatId, entry, error, scheduledFor }));
}

/** Emits a workflow runtime's `run:*` events as the `workflow-run-*` signals. */
export function bridgeWorkflowSignals(events: TypedEmitter<WorkflowEvents>, signals: StemSignals): void {
  events.on('run:started', (run) => signals.emit('workflow-run-started', { run }));
  events.on('run:suspended', (runId, suspension) => signals.emit('workflow-run-suspended', { runId, suspension }));
  events.on('run:resumed', (runId) => signals.emit('workflow-run-resumed', { runId }));
  events.on('run:completed', (run) => signals.emit('workflow-run-completed', { run }));
  events.on('run:failed', (run) => signals.emit('workflow-run-failed', { run }));
  events.on('run:cancelled', (run) => signals.emit('workflow-run-cancelled', { run }));
}
