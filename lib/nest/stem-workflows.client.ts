import type { TaskArgsValidator } from '../core/args-validator.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { RunState, StepCheckpoint } from '../core/workflow/run-state.js';
import type { StartWorkflowOptions, WaitForWorkflowOptions, WorkflowClient, WorkflowCompletion } from '../core/workflow/workflow-client.js';
import type { ListWorkflowRunsQuery } from '../core/workflow/workflow-store.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import type { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { validateWorkflowParams } from './stem-workflow.params.js';
import type { StartWorkflowArgs, WorkflowClass, WorkflowClassParams, WorkflowClassResult, WorkflowRunId } from './stem-workflow.types.js';
import { STEM_WORKFLOW_METADATA } from './stem.constants.js';

/**
 * The workflow name and options of a `@Workflow()` class, read from its metadata (the class need
 * not be a provider of this app).
 * @throws ConfigurationError when the class is not decorated with `@Workflow()`
 */
export function workflowOf(workflow: WorkflowClass): WorkflowDecoratorOptions {
  const options = Reflect.getMetadata(STEM_WORKFLOW_METADATA, workflow) as WorkflowDecoratorOptions | undefined;
  if (!options?.name) {
    throw new ConfigurationError('workflow', `${workflow.name || 'the class'} is not a @Workflow() class; decorate it with @Workflow({ name }) or pass the workflow's name`);
  }
  return options;
}

/** The workflow name of a `@Workflow()` class, or the name itself. */
export function workflowNameOf(workflow: WorkflowClass | string): string {
  return typeof workflow === 'string' ? workflow : workflowOf(workflow).name;
}

/**
 * Starts and operates workflow runs: `StemClient.workflows`. Runs are typed by their class:
 * `start(FulfilOrder, params)` checks `params` against `run`'s first parameter, validates them
 * against `@Workflow({ params })` and resolves with a run id that `waitForCompletion` types by
 * `run`'s result.
 *
 * @example
 * const runId = await this.stem.workflows.start(FulfilOrder, { orderId: '42' });
 * await this.stem.workflows.emit('shipment.42', { trackingId: 'T1' });
 * const done = await this.stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
 * done.value?.total; // typed from FulfilOrder.run
 */
export class StemWorkflows {
  constructor(
    private readonly runtime: WorkflowClient | null,
    private readonly definitions: StemWorkflowDefinitions,
    private readonly validator: TaskArgsValidator | null,
  ) {}

  private get client(): WorkflowClient {
    if (!this.runtime) {
      throw new ConfigurationError(
        'workflows',
        'is false, so this app has no workflow runtime; remove workflows: false from StemModule.forRoot() to start and operate workflow runs',
      );
    }
    return this.runtime;
  }

  /**
   * Starts a run of a `@Workflow()` class (or of a workflow by name) and resolves with its id once
   * its first run task is enqueued. Params are validated against `@Workflow({ params })` first
   * (for a name, when this app defines that workflow).
   * @throws InvalidWorkflowParamsError naming the workflow and each failed constraint (nothing is stored)
   */
  start<C>(workflow: WorkflowClass<C>, ...args: StartWorkflowArgs<WorkflowClassParams<C>>): Promise<WorkflowRunId<WorkflowClassResult<C>>>;
  start<R = unknown>(workflow: string, params?: unknown, options?: StartWorkflowOptions): Promise<WorkflowRunId<R>>;
  async start(workflow: WorkflowClass | string, params?: unknown, options?: StartWorkflowOptions): Promise<string> {
    const client = this.client;
    const { name, params: type } = typeof workflow === 'string' ? { name: workflow, params: this.definitions.paramsOf(workflow) } : workflowOf(workflow);
    validateWorkflowParams(this.validator, name, type, params ?? {});
    return client.start(name, params ?? {}, options);
  }

  /** Resumes every run waiting on `topic` (each exactly once) with `payload`; resolves with how many it resumed. A run that starts waiting later is not woken. */
  emit(topic: string, payload?: unknown): Promise<number> {
    return this.client.emit(topic, payload);
  }

  /** Sends signal `name` to one run; it is kept with the run until a `ctx.waitForSignal(name)` takes it, so it is never lost. */
  signal(runId: string, name: string, payload?: unknown): Promise<void> {
    return this.client.signal(runId, name, payload);
  }

  /**
   * Waits until the run ends or `timeout` passes (`timedOut`), without polling. `value` is the
   * result of a completed run, typed by the run id from `start(Class, ...)`.
   */
  waitForCompletion<R>(runId: WorkflowRunId<R>, options?: WaitForWorkflowOptions<R>): Promise<WorkflowCompletion<R>> {
    return this.client.waitForCompletion<R>(runId, options);
  }

  /** Cancels a run (`cancelled`, with `reason` in `cancellationData`); `null` when it had ended already. */
  cancel(runId: string, reason?: string): Promise<RunState | null> {
    return this.client.cancel(runId, reason);
  }

  /** Clears `step` (every occurrence) and all checkpoints after it, and resumes the run there: that step and the ones after it run again. */
  rewind(runId: string, step: string): Promise<RunState> {
    return this.client.rewind(runId, step);
  }

  /** The run (status, cursor, params, suspension, lease owner, last error, cancellation data), or `null`. */
  get(runId: string): Promise<RunState | null> {
    return this.client.get(runId);
  }

  /** The run's checkpoints in order (`charge#0`, `$sleep#0`, ...). */
  steps(runId: string): Promise<StepCheckpoint[]> {
    return this.client.steps(runId);
  }

  /** Runs matching the filter (`workflow` takes a class or a name), newest first. */
  list(query: Omit<ListWorkflowRunsQuery, 'workflow'> & { readonly workflow?: WorkflowClass | string } = {}): Promise<RunState[]> {
    const { workflow, ...rest } = query;
    return this.client.list(workflow === undefined ? rest : { ...rest, workflow: workflowNameOf(workflow) });
  }
}
