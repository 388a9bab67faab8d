import type { WorkflowCancellationPolicy } from './run-state.js';
import type { WorkflowContext } from './workflow-context.js';

/** Options of a {@link WorkflowScript}. */
export interface WorkflowScriptOptions<P = unknown, R = unknown> {
  readonly name: string;
  /** The run function: replayed from the top after every suspension or crash. */
  readonly run: (ctx: WorkflowContext<P>) => Promise<R> | R;
  /** Default cancellation policy of its runs (a start may give its own). */
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
  /** Where it is defined (`FulfilOrder`), for error messages. */
  readonly source?: string;
}

/**
 * The script form: a workflow as one async function whose `ctx.step()`, `ctx.sleep()`,
 * `ctx.awaitEvent()`, ... calls are checkpointed by name and occurrence (`charge#0`,
 * `charge#1`). The run's result is what the function returns.
 *
 * @example
 * new WorkflowScript<{ orderId: string }, Receipt>({
 *   name: 'orders.fulfil',
 *   run: async (ctx) => {
 *     const charge = await ctx.step('charge', (s) => payments.charge(ctx.params.orderId, s.idempotencyKey()));
 *     const shipment = await ctx.awaitEvent<Shipment>(`shipment.${ctx.params.orderId}`, { timeout: '7d' });
 *     await ctx.sleep('1h');
 *     return ctx.step('notify', () => mail.receipt(charge, shipment));
 *   },
 * });
 */
export class WorkflowScript<P = unknown, R = unknown> {
  readonly kind = 'script' as const;
  readonly name: string;
  readonly run: (ctx: WorkflowContext<P>) => Promise<R> | R;
  readonly cancellationPolicy?: WorkflowCancellationPolicy;
  readonly source?: string;
  /** Type-level only: the run's result type. */
  declare readonly __result?: R;

  constructor(options: WorkflowScriptOptions<P, R>) {
    if (!options.name) throw new TypeError('A WorkflowScript needs a name');
    if (typeof options.run !== 'function') throw new TypeError(`WorkflowScript "${options.name}" needs a run function`);
    this.name = options.name;
    this.run = options.run;
    this.cancellationPolicy = options.cancellationPolicy;
    this.source = options.source;
  }
}
