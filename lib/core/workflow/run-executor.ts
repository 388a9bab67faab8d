import { trippedPolicy } from './cancellation-policy.js';
import { UnknownWorkflowError } from './errors/unknown-workflow.error.js';
import { WorkflowScopeUnavailableError } from './errors/workflow-scope-unavailable.error.js';
import { runFlow } from './flow-runner.js';
import { isTerminalWorkflowStatus, type RunState } from './run-state.js';
import { type RunAbort, RunExecution, type RunExecutionDeps } from './run-execution.js';
import { type RunOutcome, WorkflowInterrupt } from './run-interrupt.js';
import { type StartRun, ScriptRunContext } from './script-context.js';
import { runInWorkflowScope } from './step-scope.js';
import type { WorkflowDefinition } from './workflow-definition.js';
import { type LoadedRun, toWorkflowRunError } from './workflow-store.js';

/** Why a run task was enqueued (`stem.workflow.reason` meta). */
export type RunTaskReason = 'start' | 'due' | 'event' | 'signal' | 'child' | 'rewind' | 'sweep' | 'retry';

/** What executing runs needs from the runtime. */
export interface RunExecutorHost extends RunExecutionDeps {
  definition(name: string): WorkflowDefinition | undefined;
  knownWorkflows(): string[];
  /** Enqueues a run task for `runId`, after `delayMs` when given. */
  enqueueRun(runId: string, reason: RunTaskReason, delayMs?: number): Promise<void>;
  readonly startRun: StartRun;
}

/**
 * Advances one run as far as it goes in one execution, as lease owner `ownerId`: resumes it if
 * it is suspended and due (or cancels it when a cancellation policy tripped), replays it from
 * the top against its checkpoints, and records how the execution ended (completed, suspended
 * with its continuation scheduled, failed, cancelled). Returns the run as it is afterwards
 * (`null` when it does not exist). `loaded`: the run and checkpoints the claim of this lease
 * read (saves reading them again).
 */
export async function advanceRun(host: RunExecutorHost, runId: string, ownerId: string, abort: RunAbort, loaded?: LoadedRun): Promise<RunState | null> {
  const { store, clock, events } = host;
  let run = loaded ? loaded.run : await store.get(runId);
  if (!run || isTerminalWorkflowStatus(run.status)) return run;
  const definition = host.definition(run.workflow);
  if (!definition) {
    const error = toWorkflowRunError(new UnknownWorkflowError(run.workflow, host.knownWorkflows()), clock.now());
    return finish(host, run, await store.markFailed(runId, error, { terminal: true, ownerId }));
  }
  const trip = trippedPolicy(run, clock.now());
  if (trip) return finish(host, run, await store.cancel(runId, trip));
  if (run.status === 'suspended') {
    const resumed = await store.markResumed(runId);
    if (!resumed) return run;
    run = resumed;
    events.emit('run:resumed', runId);
  }

  // NOTE: checkpoints loaded with the claim stay valid: under the lease only a rewind changes
  // them, and it takes the lease away, so every write of this execution is refused.
  const exec = new RunExecution(host, run, loaded ? loaded.steps : await store.listSteps(runId), ownerId, abort);
  const execute = () => executeDefinition(definition, exec, host);
  const outcome = host.tracing?.enabled ? await host.tracing.traceWorkflow({ name: run.workflow, runId }, execute) : await execute();
  return record(host, run, outcome, ownerId);
}

/**
 * Replays the run's definition once against its checkpoints: how this execution ended. Throws
 * the store's error when a store call failed on the way (the run task is retried; the run does
 * not fail).
 */
async function executeDefinition(definition: WorkflowDefinition, exec: RunExecution, host: RunExecutorHost): Promise<RunOutcome> {
  const outcome = await replayOnce(definition, exec, host).catch((error: unknown) => {
    throw exec.storeFailure ?? error;
  });
  if (exec.storeFailure !== undefined) throw exec.storeFailure;
  return outcome;
}

async function replayOnce(definition: WorkflowDefinition, exec: RunExecution, host: RunExecutorHost): Promise<RunOutcome> {
  if (definition.kind === 'flow') return runFlow(definition, exec);
  const ctx = new ScriptRunContext(exec, host.startRun);
  try {
    const value = await runInWorkflowScope(ctx, () => definition.run(ctx));
    return ctx.outcome ?? { kind: 'completed', value };
  } catch (error) {
    // NOTE: not the run's failure: the run task is retried, and the retry has the run scope.
    if (error instanceof WorkflowScopeUnavailableError) throw error;
    return ctx.outcome ?? (error instanceof WorkflowInterrupt ? error.outcome : { kind: 'failed', error: toWorkflowRunError(error, host.clock.now()) });
  }
}

/** Persists an execution's outcome and schedules what follows it. */
async function record(host: RunExecutorHost, run: RunState, outcome: RunOutcome, ownerId: string): Promise<RunState | null> {
  const { store, clock, events } = host;
  switch (outcome.kind) {
    case 'completed':
      return finish(host, run, await store.markCompleted(run.id, outcome.value, { ownerId }));
    case 'failed':
      return finish(host, run, await store.markFailed(run.id, outcome.error, { terminal: true, ownerId }));
    case 'cancelled':
      return finish(host, run, await store.cancel(run.id, { reason: outcome.reason, ...(outcome.policy ? { policy: outcome.policy } : {}) }));
    case 'suspended': {
      const state = await store.get(run.id);
      if (state?.suspension) events.emit('run:suspended', run.id, state.suspension);
      if (outcome.resumeAt !== null) await host.enqueueRun(run.id, state?.suspension?.type === 'retry' ? 'retry' : 'due', Math.max(0, outcome.resumeAt - clock.now()));
      return state;
    }
    case 'stopped':
      return store.get(run.id);
  }
}

/** After a run ended: events, and the parent's wake-up when it waits for this child. */
export async function finish(host: RunExecutorHost, before: RunState, ended: RunState | null): Promise<RunState | null> {
  if (!ended) return host.store.get(before.id);
  host.events.emit(ended.status === 'completed' ? 'run:completed' : ended.status === 'failed' ? 'run:failed' : 'run:cancelled', ended);
  if (ended.parentRunId) await wakeParent(host, ended.parentRunId);
  return ended;
}

/** Enqueues the parent's continuation when the child's end made it due (the store signalled it). */
export async function wakeParent(host: RunExecutorHost, parentRunId: string): Promise<void> {
  const parent = await host.store.get(parentRunId);
  if (parent?.status === 'suspended' && parent.resumeAt !== null && parent.resumeAt <= host.clock.now()) await host.enqueueRun(parentRunId, 'child');
}
