import type { WorkflowCancellationPolicy } from './run-state.js';
import type { FlowContext, WorkflowStepOptions } from './workflow-context.js';

/** One step of a {@link Flow}. */
export interface FlowStepDefinition<P = unknown> {
  /** Checkpoint name (numbered `name#i` when `autoVersion`). */
  readonly name: string;
  readonly handler: (ctx: FlowContext<P>) => unknown;
  readonly options?: WorkflowStepOptions;
}

/** Collects the steps of a flow in order. */
export class FlowBuilder<P = unknown> {
  private readonly list: FlowStepDefinition<P>[] = [];

  /**
   * Adds a step; steps run in the order added, each with the previous one's result as
   * `ctx.previousResult`.
   */
  step(name: string, handler: (ctx: FlowContext<P>) => unknown, options?: WorkflowStepOptions): this {
    this.list.push({ name, handler, ...(options ? { options } : {}) });
    return this;
  }

  /** The steps added so far. */
  get steps(): readonly FlowStepDefinition<P>[] {
    return this.list;
  }
}

/** Options of a {@link Flow}: its steps by a builder, or as an ordered list. */
export interface FlowOptions<P = unknown> {
  readonly name: string;
  /** Adds the steps (give this or `steps`). */
  readonly build?: (flow: FlowBuilder<P>) => void;
  /** The steps in order (give this or `build`). */
  readonly steps?: readonly FlowStepDefinition<P>[];
  /** Default cancellation policy of its runs (a start may give its own). */
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
  /** Where it is defined (`BuildReport`), for error messages. */
  readonly source?: string;
}

/**
 * The flow form: a workflow as an ordered list of steps. The run's result is the last step's.
 *
 * @example
 * new Flow<{ day: string }>({
 *   name: 'report.build',
 *   build: (f) => f
 *     .step('collect', (ctx) => rows(ctx.params.day))
 *     .step('page', (ctx) => { if (ctx.iteration < 2) ctx.repeat(); return ctx.iteration; }, { autoVersion: true }),
 * });
 */
export class Flow<P = unknown, R = unknown> {
  readonly kind = 'flow' as const;
  readonly name: string;
  readonly steps: readonly FlowStepDefinition<P>[];
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
  readonly source?: string;
  /** Type-level only: the run's result type. */
  declare readonly __result?: R;

  constructor(options: FlowOptions<P>) {
    if (!options.name) throw new TypeError('A Flow needs a name');
    let steps: readonly FlowStepDefinition<P>[];
    if (options.steps) steps = [...options.steps];
    else {
      const builder = new FlowBuilder<P>();
      options.build?.(builder);
      steps = builder.steps;
    }
    if (steps.length === 0) throw new TypeError(`Flow "${options.name}" has no steps; add them with build: (f) => f.step(...) or steps: [...]`);
    const seen = new Set<string>();
    for (const step of steps) {
      if (!step.name || step.name.startsWith('$') || /#\d+$/.test(step.name)) {
        throw new TypeError(`Flow "${options.name}": step name "${step.name}" is not allowed (non-empty, not starting with "$", not ending in "#<n>")`);
      }
      if (seen.has(step.name)) throw new TypeError(`Flow "${options.name}" has two steps named "${step.name}"; step names must be unique`);
      seen.add(step.name);
    }
    this.name = options.name;
    this.steps = steps;
    this.cancellationPolicy = options.cancellationPolicy;
    this.source = options.source;
  }
}
