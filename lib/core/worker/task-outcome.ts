import type { Envelope, TaskError } from '../envelope.js';

/** How a task ended, as the worker reports it after writing the terminal status (before the ack). */
export interface TerminalTaskOutcome {
  readonly envelope: Envelope;
  readonly state: 'succeeded' | 'failed' | 'cancelled';
  /** Handler return value (succeeded only). */
  readonly result?: unknown;
  /** Stored (encoded) result and its encoder id (succeeded, unless results are ignored). */
  readonly payload?: unknown;
  readonly resultEncoder?: string;
  /** What went wrong (failed and cancelled); `meta['stem.deadLetterReason']` says why it was dead-lettered. */
  readonly error?: TaskError;
}

/** An attempt failed and a retry is scheduled under the same id (status `retried` written, delivery requeued). */
export interface RetriedTaskOutcome {
  readonly envelope: Envelope;
  readonly state: 'retried';
  readonly error: TaskError;
  /** Backoff before the next attempt. */
  readonly delayMs: number;
}

/** What a worker extension's `onSettled` is told: a terminal outcome or a scheduled retry. */
export type TaskOutcome = TerminalTaskOutcome | RetriedTaskOutcome;

/** Whether the outcome is terminal (`succeeded`, `failed` or `cancelled`). */
export function isTerminalOutcome(outcome: TaskOutcome): outcome is TerminalTaskOutcome {
  return outcome.state !== 'retried';
}
