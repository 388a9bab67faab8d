import type { TaskArgsValidator } from '../core/args-validator.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { Flow, type FlowStepDefinition } from '../core/workflow/flow.js';
import { asWorkflowStep } from '../core/workflow/step-scope.js';
import type { FlowContext, WorkflowContext } from '../core/workflow/workflow-context.js';
import type { WorkflowDefinition } from '../core/workflow/workflow-definition.js';
import { WorkflowScript } from '../core/workflow/workflow-script.js';
import type { StepDecoratorOptions } from './decorators/step.decorator.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import { validateWorkflowParams } from './stem-workflow.params.js';

/** A `@Step()` method of a `@Workflow()` class, in declaration order. */
export interface WorkflowStepMethod {
  readonly method: string;
  readonly options: StepDecoratorOptions;
}

/** What {@link buildWorkflowDefinition} turns into a definition. */
export interface WorkflowClassInput {
  /** The provider instance (its DI dependencies are in place). */
  readonly instance: object;
  readonly className: string;
  readonly options: WorkflowDecoratorOptions;
  readonly steps: readonly WorkflowStepMethod[];
  /** Turns stored params into the DTO instance `run()` receives; `null` with `validation: false`. */
  readonly validator: TaskArgsValidator | null;
}

type Methods = Record<string, ((...args: unknown[]) => unknown) | undefined>;

function stepNamesOf(input: WorkflowClassInput): string[] {
  const { className, options, steps } = input;
  const seen = new Map<string, string>();
  return steps.map(({ method, options: step }) => {
    const name = step.name ?? method;
    if (!name || name.startsWith('$') || /#\d+$/.test(name)) {
      throw new ConfigurationError(
        'workflow',
        `@Step() ${className}.${method} has the step name "${name}", which is not allowed; a step name must not be empty, start with "$" or end in "#<n>"`,
      );
    }
    const other = seen.get(name);
    if (other) {
      throw new ConfigurationError(
        'workflow',
        `@Workflow({ name: '${options.name}' }): ${className}.${other} and ${className}.${method} are both step "${name}"; give one of them another @Step({ name })`,
      );
    }
    seen.set(name, method);
    return name;
  });
}

/**
 * Builds the core definition of a `@Workflow()` provider:
 * - a class with `run(params, ctx)` becomes a {@link WorkflowScript}; its `@Step()` methods are
 *   replaced on the instance by checkpointed wrappers (`asWorkflowStep`), so `this.charge()`
 *   inside `run` is step `charge#0`, `charge#1`, ... and is not re-run on replay;
 * - a class without `run` becomes a {@link Flow} of its `@Step()` methods in declaration order.
 *
 * @throws ConfigurationError for a flow without steps or two steps with one name
 */
export function buildWorkflowDefinition(input: WorkflowClassInput): WorkflowDefinition {
  const { instance, className, options, steps, validator } = input;
  const methods = instance as Methods;
  const names = stepNamesOf(input);
  const common = { name: options.name, source: className, ...(options.cancellationPolicy ? { cancellationPolicy: options.cancellationPolicy } : {}) };
  const run = methods.run;
  if (typeof run === 'function') {
    steps.forEach(({ method, options: { name: _name, ...stepOptions } }, i) => {
      const original = methods[method]!;
      methods[method] = asWorkflowStep(names[i]!, original, stepOptions);
    });
    return new WorkflowScript({
      ...common,
      run: (ctx: WorkflowContext) => run.call(instance, validateWorkflowParams(validator, options.name, options.params, ctx.params), ctx),
    });
  }
  if (steps.length === 0) {
    throw new ConfigurationError(
      'workflow',
      `@Workflow({ name: '${options.name}' }) ${className} has neither a run(params, ctx) method nor @Step() methods; add run() for the script form or @Step() methods for the flow form`,
    );
  }
  const flowSteps: FlowStepDefinition[] = steps.map(({ method, options: { name: _name, ...stepOptions } }, i) => {
    const handler = methods[method]!;
    return { name: names[i]!, handler: (ctx: FlowContext) => handler.call(instance, ctx), options: stepOptions };
  });
  return new Flow({ ...common, steps: flowSteps });
}
