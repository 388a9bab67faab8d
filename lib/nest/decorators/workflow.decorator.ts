import { SetMetadata } from '@nestjs/common';
import type { ArgsType } from '../../core/task-handler.js';
import type { WorkflowCancellationPolicy } from '../../core/workflow/run-state.js';
import { STEM_WORKFLOW_METADATA } from '../stem.constants.js';

/** Options of {@link Workflow}. */
export interface WorkflowDecoratorOptions {
  /** Workflow name used to start it (`orders.fulfil`); unique in the app. */
  readonly name: string;
  /**
   * DTO class of the run's params: `start` validates params against it (class-validator) before
   * anything is stored, and the script form's `run(params)` receives an instance of it.
   */
  readonly params?: ArgsType;
  /** Default cancellation policy of its runs; a `start` may give its own. */
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
}

/**
 * Marks a provider class as a durable workflow. The class is a normal provider (DI works);
 * it is discovered at bootstrap next to `@Task()` methods.
 *
 * - With a `run(params, ctx: WorkflowContext)` method it is the script form: `run` is replayed
 *   from the top after every suspension or crash, and each call of one of its `@Step()` methods is
 *   checkpointed by name and occurrence (`charge#0`, `charge#1`).
 * - Without `run` it is the flow form: its `@Step()` methods run in declaration order, each
 *   given a `FlowContext` (`ctx.params`, `ctx.previousResult`, `ctx.repeat()`, ...).
 *
 * @example
 * @Workflow({ name: 'orders.fulfil', params: FulfilDto, cancellationPolicy: { maxSuspendDuration: '7d' } })
 * @Injectable()
 * export class FulfilOrder {
 *   constructor(private readonly payments: Payments) {}
 *
 *   async run(params: FulfilDto, ctx: WorkflowContext): Promise<{ total: number }> {
 *     const charge = await this.charge(params.orderId);
 *     await ctx.sleep('1h');
 *     return { total: charge.total };
 *   }
 *
 *   @Step({ maxRetries: 3 })
 *   async charge(orderId: string) {
 *     return this.payments.charge(orderId, { idempotencyKey: stepContext().idempotencyKey() });
 *   }
 * }
 */
export function Workflow(options: WorkflowDecoratorOptions): ClassDecorator {
  return SetMetadata(STEM_WORKFLOW_METADATA, options);
}
