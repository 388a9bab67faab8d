import { SetMetadata } from '@nestjs/common';
import type { WorkflowStepOptions } from '../../core/workflow/workflow-context.js';
import { STEM_STEP_METADATA } from '../stem.constants.js';

/** Options of {@link Step}: the checkpoint name and the step's {@link WorkflowStepOptions}. */
export interface StepDecoratorOptions extends WorkflowStepOptions {
  /**
   * Checkpoint name of the step (numbered `name#i` per call in the script form, and per
   * `ctx.repeat()` of an `autoVersion` flow step). @default the method name
   */
  readonly name?: string;
}

/**
 * Marks a method of a `@Workflow()` class as a checkpointed step.
 *
 * In the script form (the class has `run`), calling the method inside `run` runs it once and
 * records its result (`charge#0`, `charge#1`, ... per call); on replay the recorded value is
 * returned without calling it. Inside the step, `stepContext()` gives its idempotency key.
 * In the flow form (no `run`), the `@Step()` methods are the flow's steps, run in declaration
 * order, each called with a `FlowContext`.
 *
 * Steps may run more than once (a crash after the step's side effect but before its checkpoint
 * is saved runs it again), so make their side effects idempotent.
 *
 * @example
 * @Step({ maxRetries: 3 })
 * async charge(orderId: string) {
 *   return this.payments.charge(orderId, { idempotencyKey: stepContext().idempotencyKey() });
 * }
 */
export function Step(options: StepDecoratorOptions = {}): MethodDecorator {
  return SetMetadata(STEM_STEP_METADATA, options);
}
