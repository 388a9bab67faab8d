import type { Flow } from './flow.js';
import type { RunExecution } from './run-execution.js';
import { type RunOutcome, WorkflowInterrupt } from './run-interrupt.js';
import { RunFlowContext } from './step-context.impl.js';

/**
 * Runs a flow's steps in order against the run's history: recorded steps are passed (an
 * autoVersion step that asked to repeat is followed by its next iteration), the first
 * unrecorded one runs, and each result is checkpointed before the next step starts.
 */
export async function runFlow(flow: Flow, exec: RunExecution): Promise<RunOutcome> {
  try {
    for (const step of flow.steps) {
      const autoVersion = step.options?.autoVersion === true;
      for (let iteration = 0; ; iteration++) {
        const checkpoint = autoVersion ? `${step.name}#${iteration}` : step.name;
        const recorded = exec.recordedAt(checkpoint);
        if (recorded) {
          exec.pass(recorded);
          if (autoVersion && recorded.meta?.repeat === true) continue;
          break;
        }
        exec.beforeNewStep();
        const attempt = exec.attemptOf(checkpoint);
        const ctx = new RunFlowContext(exec, step.name, checkpoint, iteration, attempt);
        let value: unknown;
        try {
          value = await exec.runStep(checkpoint, ctx, () => step.handler(ctx));
          if (ctx.repeated && !autoVersion)
            throw new TypeError(`Step "${step.name}" of flow "${flow.name}" called ctx.repeat() but is not autoVersion; declare it with { autoVersion: true }`);
        } catch (error) {
          return await exec.stepFailed(checkpoint, attempt, error, step.options, autoVersion ? iteration : undefined);
        }
        const suspend = ctx.suspend;
        if (suspend) {
          const at = autoVersion ? { iteration } : {};
          return suspend.type === 'sleep'
            ? await exec.suspendUntil(checkpoint, exec.now + suspend.ms, { ...at, ...(suspend.data !== undefined ? { data: suspend.data } : {}) })
            : await exec.suspendOnTopic(checkpoint, suspend.topic, suspend.timeoutMs, { ...at, ...(suspend.data !== undefined ? { data: suspend.data } : {}) });
        }
        await exec.save(checkpoint, value, ctx.repeated ? { repeat: true } : undefined);
        if (!ctx.repeated) break;
      }
    }
  } catch (error) {
    if (error instanceof WorkflowInterrupt) return error.outcome;
    throw error;
  }
  return { kind: 'completed', value: exec.previous };
}
