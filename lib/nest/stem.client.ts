import { Inject, Injectable, Optional, type Type } from '@nestjs/common';
import type { TaskArgsValidator } from '../core/args-validator.js';
import type { TaskStatus } from '../core/envelope.js';
import type { EnqueueCall, EnqueueOutcome, Stem } from '../core/stem.js';
import type { EnqueueOptions } from '../core/task-options.js';
import type { StemSignals } from '../core/signals/stem-signals.js';
import type { TaskResult, WaitOptions } from '../core/task-result.js';
import type { WorkflowClient } from '../core/workflow/workflow-client.js';
import { createTaskHandle, type TaskHandle, type TaskMethodArgs, type TaskMethodName, type TaskMethodResult } from './stem-task.handle.js';
import { STEM_ARGS_VALIDATOR } from './stem-validation.provider.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { StemWorkflows } from './stem-workflows.client.js';
import { STEM_PRODUCER, STEM_WORKFLOW_RUNTIME } from './stem.constants.js';

/**
 * Enqueue tasks and read their results from controllers and services.
 *
 * @example
 * @Controller('emails')
 * export class EmailController {
 *   constructor(private readonly stem: StemClient) {}
 *
 *   @Post()
 *   async send(@Body() body: SendEmailDto) {
 *     const id = await this.stem.enqueue('email.send', body, { delay: 30_000 });
 *     return { id };
 *   }
 * }
 */
@Injectable()
export class StemClient {
  /**
   * Durable workflows: `start(FulfilOrder, params)`, `emit`, `signal`, `waitForCompletion`,
   * `cancel`, `rewind`, `get`, `steps`, `list`.
   */
  readonly workflows: StemWorkflows;

  constructor(
    @Inject(STEM_PRODUCER) private readonly producer: Stem,
    @Optional() @Inject(STEM_WORKFLOW_RUNTIME) runtime: WorkflowClient | null = null,
    @Optional() @Inject(StemWorkflowDefinitions) definitions: StemWorkflowDefinitions | null = null,
    @Optional() @Inject(STEM_ARGS_VALIDATOR) validator: TaskArgsValidator | null = null,
  ) {
    this.workflows = new StemWorkflows(runtime, definitions ?? new StemWorkflowDefinitions(), validator);
  }

  /**
   * Enqueues `name` with `args`; resolves with the task id once published.
   * @throws InvalidTaskArgsError when the task's DTO rejects `args` (nothing is published)
   */
  enqueue(name: string, args?: unknown, options?: EnqueueOptions): Promise<string> {
    return this.producer.enqueue(name, args, options);
  }

  /**
   * Runs `fn` with `meta` added to every enqueue made inside it (also from handlers and workflow
   * steps that enqueue while it runs); nested scopes merge, the inner winning; a call's own
   * `meta` wins. Returns what `fn` returns.
   *
   * @example
   * return this.stem.withMeta({ requestId: req.id }, () => this.orders.place(dto));
   */
  withMeta<T>(meta: Readonly<Record<string, unknown>>, fn: () => T): T {
    return this.producer.withMeta(meta, fn);
  }

  /** Enqueues many tasks in one batch, all or none: one call that fails its checks fails the batch. */
  enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]> {
    return this.producer.enqueueMany(calls);
  }

  /**
   * Enqueues many tasks in one batch, each on its own: a call that fails its checks or that a
   * middleware rejects is reported in its place (`{ ok: false, error }`), the others are published.
   */
  enqueueManySettled(calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> {
    return this.producer.enqueueManySettled(calls);
  }

  /** Waits for a terminal state or the timeout (`res.timedOut`). Works across processes. */
  waitForTask<TResult = unknown>(id: string, options?: WaitOptions): Promise<TaskResult<TResult>> {
    return this.producer.waitForTask<TResult>(id, options);
  }

  /** The current status of a task, or `null` when unknown or expired. */
  getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    return this.producer.getTaskStatus<TResult>(id);
  }

  /**
   * A typed handle for a `@Task()` method: arguments and result are typed from its signature.
   *
   * @example
   * const send = this.stem.task(EmailTasks, 'send');
   * const res = await send.enqueueAndWait({ to: 'a@b.co', subject: 'hi' }, { timeout: 5_000 });
   * res.value?.delivered; // typed from EmailTasks.send's return type
   */
  task<C, K extends TaskMethodName<C>>(host: Type<C>, method: K): TaskHandle<TaskMethodArgs<C, K>, TaskMethodResult<C, K>> {
    return createTaskHandle(this.producer, host, method);
  }

  /**
   * Lifecycle signals of this app's producer, worker, Beat and workflow runtime.
   * @example this.stem.signals.on('task-failed', ({ envelope, error }) => this.alerts.send(envelope.name, error.message));
   */
  get signals(): StemSignals {
    return this.producer.signals;
  }

  /** The underlying core producer, for features not wrapped here. */
  get core(): Stem {
    return this.producer;
  }
}
