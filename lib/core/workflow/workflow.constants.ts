/** Name of the task that advances one workflow run; its args are `{ runId }`. */
export const WORKFLOW_RUN_TASK = 'stem.workflow.run';

/** Queue the run tasks go to unless the runtime is given another. */
export const DEFAULT_WORKFLOW_QUEUE = 'workflow';

/** Run lease in ms unless the runtime is given another (renewed while a run executes). */
export const DEFAULT_RUN_LEASE_DURATION = 30_000;

/** Meta keys the runtime adds to tasks a workflow enqueues (`ctx.enqueue`) and to its own run tasks. */
export const WorkflowMeta = {
  /** Workflow name. */
  workflow: 'stem.workflow.name',
  /** Run id. */
  runId: 'stem.workflow.runId',
  /** Checkpoint name of the step that enqueued the task (`charge#0`). */
  step: 'stem.workflow.step',
  /** Why a run task was enqueued: `start`, `due`, `event`, `signal`, `child`, `retry`, `rewind`, `sweep`. */
  reason: 'stem.workflow.reason',
} as const;

/** Prefix of the checkpoints the script form writes for its own calls (`$sleep#0`, `$awaitEvent#1`). */
export const INTERNAL_STEP_PREFIX = '$';

/** Signal name a child run sends its parent when it ends: `$child:<childRunId>`. */
export function childSignalName(childRunId: string): string {
  return `${INTERNAL_STEP_PREFIX}child:${childRunId}`;
}

/** Splits a checkpoint name into its step and occurrence: `charge#1` → `['charge', 1]`, `collect` → `['collect', undefined]`. */
export function parseCheckpointName(name: string): { readonly step: string; readonly iteration: number | undefined } {
  const match = /^(.*)#(\d+)$/.exec(name);
  return match ? { step: match[1]!, iteration: Number(match[2]) } : { step: name, iteration: undefined };
}
