import type { Duration } from '../beat/duration.js';

/**
 * Where a run is:
 * - `running`: runnable or executing (a run task is queued or holds the run lease);
 * - `suspended`: waiting for a time, an event, a signal or a child run (or rewound, waiting to resume);
 * - `completed`, `failed`, `cancelled`: ended for good.
 */
export type WorkflowStatus = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled';

/** The statuses a run never leaves. */
export const TERMINAL_WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['completed', 'failed', 'cancelled'];

/** `true` for `completed`, `failed` and `cancelled`. */
export function isTerminalWorkflowStatus(status: WorkflowStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/**
 * Limits that cancel a run (status `cancelled`, `cancellationData.policy` naming the limit):
 * `maxRunDuration` bounds the time from start to end; `maxSuspendDuration` bounds each single
 * suspension (sleep, event or signal wait, child wait).
 */
export interface WorkflowCancellationPolicy {
  readonly maxRunDuration?: Duration;
  readonly maxSuspendDuration?: Duration;
}

/** A {@link WorkflowCancellationPolicy} as stored: milliseconds. */
export interface StoredCancellationPolicy {
  readonly maxRunDuration?: number;
  readonly maxSuspendDuration?: number;
}

/** Why a run was cancelled. */
export interface WorkflowCancellationData {
  /** Human-readable reason; for a policy, it starts with the policy's name (`maxSuspendDuration: ...`). */
  readonly reason: string;
  /** The policy that tripped, when a policy cancelled the run. */
  readonly policy?: 'maxRunDuration' | 'maxSuspendDuration';
  /** Epoch ms of the cancellation. */
  readonly cancelledAt: number;
}

/** What a run is waiting for: a sleep, an event, a signal (child runs signal their parent), a step retry's delay, or to resume after a rewind. */
export type WorkflowSuspensionType = 'sleep' | 'event' | 'signal' | 'retry' | 'rewind';

/** A run's current suspension (`null` while it is not suspended). */
export interface WorkflowSuspension {
  readonly type: WorkflowSuspensionType;
  /** Checkpoint name of the step that suspended (`$sleep#0`, `page#2`, `poll`). */
  readonly step: string;
  /** Occurrence of that step (autoVersion / script numbering), if numbered. */
  readonly iteration?: number;
  /** Epoch ms the suspension began. */
  readonly suspendedAt: number;
  /** Epoch ms the run wakes by time: the sleep's end, or the wait's timeout (null: waits forever). */
  readonly resumeAt: number | null;
  /** The sleep's or wait's own end before a cancellation policy clamped `resumeAt` (null: none). */
  readonly requestedResumeAt: number | null;
  /** Topic of an event wait. */
  readonly topic?: string;
  /** Signal name of a signal wait. */
  readonly signal?: string;
  /** For a rewind: the checkpoint the run resumes at. */
  readonly iterationStep?: string;
  /** Whatever the step passed to remember (JSON). */
  readonly data?: unknown;
}

/**
 * A payload waiting to be handed to the step that suspended: an event, a signal, or the wake-up of
 * a sleep. Kept with the run until that step's checkpoint is saved, so a crash in between does not
 * lose it.
 */
export interface WorkflowResumeData {
  /** Checkpoint name of the suspended step it belongs to. */
  readonly step: string;
  /** `event`, `signal`, `sleep`, or `timeout` when a wait's timeout passed first. */
  readonly type: 'event' | 'signal' | 'sleep' | 'timeout';
  /** Event topic or signal name, if any. */
  readonly topic?: string;
  /** The event's payload; `null` for a timeout; the sleep's `data` (or `true`) for a sleep. */
  readonly payload: unknown;
}

/** The last error of a run (the failing step and its attempt). */
export interface WorkflowRunError {
  /** Error class name. */
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  /** Stable error code when the error had one (`STEM_WORKFLOW_DIVERGENCE`). */
  readonly code?: string;
  /** Checkpoint name of the step that threw, if a step did. */
  readonly step?: string;
  /** 0-based attempt of that step that threw. */
  readonly attempt?: number;
  /** Epoch ms. */
  readonly at: number;
}

/** One workflow run as stored. Every field is JSON-serialisable. */
export interface RunState {
  readonly id: string;
  readonly workflow: string;
  readonly status: WorkflowStatus;
  /** Number of checkpoints recorded: the logical position replay resumes at. */
  readonly cursor: number;
  readonly params: unknown;
  /** Run that started this one as a child, if any; its end signals the parent. */
  readonly parentRunId: string | null;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms of the last change (checkpoints refresh it, so it doubles as a heartbeat). */
  readonly updatedAt: number;
  /** The run's result once `completed` (`undefined` before, or when it returned nothing). */
  readonly result?: unknown;
  /** Topic of the event the run waits for, if it does. */
  readonly waitTopic: string | null;
  /** Epoch ms at which the run is due to resume, if suspended with a deadline. */
  readonly resumeAt: number | null;
  readonly suspension: WorkflowSuspension | null;
  readonly resumeData: WorkflowResumeData | null;
  readonly lastError: WorkflowRunError | null;
  /** Owner token of the run lease, while one is held. */
  readonly ownerId: string | null;
  /** Epoch ms the run lease expires. */
  readonly leaseExpiresAt: number | null;
  readonly cancellationPolicy: StoredCancellationPolicy | null;
  readonly cancellationData: WorkflowCancellationData | null;
  /** Orchestration data of the runtime (queue of the run tasks, ...). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A saved step result. */
export interface StepCheckpoint {
  /** Checkpoint name: the step's name, with `#<occurrence>` when numbered (`charge#0`). */
  readonly name: string;
  /** What the step returned; `undefined` when it returned nothing (still a completed step). */
  readonly value: unknown;
  /** 0-based position in the run's history. */
  readonly position: number;
  /** Epoch ms. */
  readonly completedAt: number;
  /** What the runtime recorded beside the value (`{ repeat: true }` for an autoVersion step that asked to run again). */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A durable event watcher: a run suspended on a topic. */
export interface WorkflowWatcher {
  readonly runId: string;
  readonly workflow: string;
  /** Checkpoint name of the waiting step. */
  readonly step: string;
  readonly topic: string;
  /** Epoch ms the wait times out (null: never). */
  readonly deadline: number | null;
  readonly data?: unknown;
  /** Epoch ms the watcher was registered. */
  readonly createdAt: number;
}

/** A watcher that an event resolved; its payload is already persisted with the run. */
export interface WatcherResolution {
  readonly runId: string;
  readonly workflow: string;
  readonly step: string;
  readonly topic: string;
  readonly resumeData: WorkflowResumeData;
}

/** A run-addressed signal, kept with the run until a `waitForSignal` consumes it. */
export interface WorkflowSignal {
  readonly runId: string;
  readonly name: string;
  readonly payload: unknown;
  /** Order of arrival within the run (1, 2, ...). */
  readonly seq: number;
  /** Epoch ms. */
  readonly sentAt: number;
}
