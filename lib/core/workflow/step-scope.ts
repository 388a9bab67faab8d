import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkflowContextMissingError } from './errors/workflow-context-missing.error.js';
import { WorkflowScopeUnavailableError } from './errors/workflow-scope-unavailable.error.js';
import type { StepContext, WorkflowContext, WorkflowStepOptions } from './workflow-context.js';

// NOTE: on Node 20 an enabled AsyncLocalStorage runs promise hooks on every promise of the
// process, which costs about a sixth of a workflow run's CPU. So the scopes are entered only
// where they are read: the step scope is enabled while a step runs (and disabled when none
// does); the run scope only once something asked for it (an `asWorkflowStep` wrapper exists,
// or `currentWorkflow()` was called).
const runScope = new AsyncLocalStorage<WorkflowContext>();
const stepScope = new AsyncLocalStorage<StepContext>();
let runScopeWanted = false;
/** Script runs executing without the run scope (started before anything asked for it). */
let unscopedRuns = 0;
let stepsRunning = 0;

function stepEnded(): void {
  if (--stepsRunning === 0) stepScope.disable();
}

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

/**
 * The script-form run context of this async scope, or `undefined` outside a running script.
 * Runs keep their context for it from the first call in the process on: call it once at
 * start-up (or create an {@link asWorkflowStep} wrapper) when runs already executing must see it.
 */
export function currentWorkflow<P = unknown>(): WorkflowContext<P> | undefined {
  runScopeWanted = true;
  return runScope.getStore() as WorkflowContext<P> | undefined;
}

/**
 * Wraps `fn` so that calling it inside a running script goes through the script's checkpointing
 * as step `name` (`name#0`, `name#1`, ... by call): on replay it returns the recorded value
 * without calling `fn`. Called inside another step, or outside any run (a unit test), it simply
 * calls `fn`. `this` is passed through, so the result can replace a method. Create wrappers
 * before the runs that call them start (at construction, as `@Step` does): runs carry the context
 * the wrappers read from the first wrapper on.
 *
 * @example
 * class FulfilOrder {
 *   charge = asWorkflowStep('charge', async (orderId: string) => this.payments.charge(orderId), { maxRetries: 3 });
 * }
 */
export function asWorkflowStep<A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>, options?: WorkflowStepOptions): (...args: A) => Promise<Awaited<R>> {
  runScopeWanted = true;
  return async function workflowStep(this: unknown, ...args: A): Promise<Awaited<R>> {
    const run = runScope.getStore();
    if (stepScope.getStore()) return (await fn.apply(this, args)) as Awaited<R>;
    if (run) return (await run.step(name, () => fn.apply(this, args), options)) as Awaited<R>;
    if (unscopedRuns > 0) throw new WorkflowScopeUnavailableError(name);
    return (await fn.apply(this, args)) as Awaited<R>;
  };
}

/** @internal Runs `fn` with `ctx` as the current script run (when anything reads it). */
export function runInWorkflowScope<T>(ctx: WorkflowContext, fn: () => T): T {
  if (runScopeWanted) return runScope.run(ctx, fn);
  unscopedRuns++;
  const ended = () => void unscopedRuns--;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    ended();
    throw error;
  }
  Promise.resolve(result).then(ended, ended);
  return result;
}

/**
 * @internal Runs `fn` with `ctx` as the current step; the scope stays enabled until the promise
 * `fn` returned settles (or at once when it returned a value or threw).
 */
export function runInStepScope<T>(ctx: StepContext, fn: () => T): T {
  stepsRunning++;
  let result: T;
  try {
    result = stepScope.run(ctx, fn);
  } catch (error) {
    stepEnded();
    throw error;
  }
  if (result instanceof Promise) result.then(stepEnded, stepEnded);
  else if (result !== null && typeof (result as { then?: unknown })?.then === 'function') Promise.resolve(result).then(stepEnded, stepEnded);
  else stepEnded();
  return result;
}

/** @internal Whether a step runs in this async scope. */
export function insideStep(): boolean {
  return stepScope.getStore() !== undefined;
}
