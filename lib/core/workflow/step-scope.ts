import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkflowContextMissingError } from './errors/workflow-context-missing.error.js';
import type { StepContext, WorkflowContext, WorkflowStepOptions } from './workflow-context.js';

const runScope = new AsyncLocalStorage<WorkflowContext>();
const stepScope = new AsyncLocalStorage<StepContext>();

/**
 * The step context of the step running in this async scope: inside a function given to
 * `ctx.step()`, a `@Step` method, or a flow step. Throws {@link WorkflowContextMissingError}
 * outside a step.
 *
 * @example
 * async charge(orderId: string) {
 *   return this.payments.charge(orderId, { idempotencyKey: stepContext().idempotencyKey() });
 * }
 */
export function stepContext<P = unknown>(): StepContext<P> {
  const ctx = stepScope.getStore();
  if (!ctx) throw new WorkflowContextMissingError('stepContext()');
  return ctx as StepContext<P>;
}

/** The script-form run context of this async scope, or `undefined` outside a running script. */
export function currentWorkflow<P = unknown>(): WorkflowContext<P> | undefined {
  return runScope.getStore() as WorkflowContext<P> | undefined;
}

/**
 * Wraps `fn` so that calling it inside a running script goes through the script's checkpointing
 * as step `name` (`name#0`, `name#1`, ... by call): on replay it returns the recorded value
 * without calling `fn`. Called inside another step, or outside any run (a unit test), it simply
 * calls `fn`. `this` is passed through, so the result can replace a method.
 *
 * @example
 * class FulfilOrder {
 *   charge = asWorkflowStep('charge', async (orderId: string) => this.payments.charge(orderId), { maxRetries: 3 });
 * }
 */
export function asWorkflowStep<A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>, options?: WorkflowStepOptions): (...args: A) => Promise<Awaited<R>> {
  return async function workflowStep(this: unknown, ...args: A): Promise<Awaited<R>> {
    const run = runScope.getStore();
    if (!run || stepScope.getStore()) return (await fn.apply(this, args)) as Awaited<R>;
    return (await run.step(name, () => fn.apply(this, args), options)) as Awaited<R>;
  };
}

/** @internal Runs `fn` with `ctx` as the current script run. */
export function runInWorkflowScope<T>(ctx: WorkflowContext, fn: () => T): T {
  return runScope.run(ctx, fn);
}

/** @internal Runs `fn` with `ctx` as the current step. */
export function runInStepScope<T>(ctx: StepContext, fn: () => T): T {
  return stepScope.run(ctx, fn);
}

/** @internal Whether a step runs in this async scope. */
export function insideStep(): boolean {
  return stepScope.getStore() !== undefined;
}
