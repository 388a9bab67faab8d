import type { WorkflowRunError } from './run-state.js';

/** How one execution of a run ended. */
export type RunOutcome =
  | { readonly kind: 'completed'; readonly value: unknown }
  | { readonly kind: 'suspended'; readonly resumeAt: number | null }
  | { readonly kind: 'failed'; readonly error: WorkflowRunError }
  | { readonly kind: 'cancelled'; readonly reason: string; readonly policy?: 'maxRunDuration' | 'maxSuspendDuration' }
  /** The lease was lost or the run changed under us (cancelled, rewound): stop without writing. */
  | { readonly kind: 'stopped' };

/**
 * Thrown through a script's `run` function to unwind it once its outcome is decided (suspended,
 * failed, stopped). The runtime ignores what `run` returns or throws afterwards; code that
 * catches it and carries on cannot run further steps, since every later call throws it again.
 */
export class WorkflowInterrupt extends Error {
  constructor(readonly outcome: RunOutcome) {
    super(`workflow execution interrupted (${outcome.kind}); do not catch this error`);
    this.name = 'WorkflowInterrupt';
  }
}
