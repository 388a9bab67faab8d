import { Injectable, Module } from '@nestjs/common';
import { IsString, MinLength } from 'class-validator';
import { type FlowContext, Step, StemClient, StemModule, stepContext, Workflow, type WorkflowContext } from 'nestjs-stem';

// #region script
export class FulfilDto {
  @IsString()
  @MinLength(1)
  orderId!: string;
}

export interface Shipment {
  trackingId: string;
}

@Injectable()
export class Payments {
  calls = 0;
  private readonly charges = new Map<string, { chargeId: string }>();

  // Like a real provider: a repeated idempotency key returns the first charge.
  async charge(orderId: string, options: { idempotencyKey: string }) {
    this.calls++;
    const charge = this.charges.get(options.idempotencyKey) ?? { chargeId: `ch-${orderId}-${this.charges.size + 1}` };
    this.charges.set(options.idempotencyKey, charge);
    return charge;
  }
}

@Workflow({ name: 'orders.fulfil', params: FulfilDto, cancellationPolicy: { maxRunDuration: '1d', maxSuspendDuration: '7d' } })
@Injectable()
export class FulfilOrder {
  constructor(private readonly payments: Payments) {} // normal DI

  // Replayed from the top after every suspension or crash; each call of a @Step method is
  // checkpointed (charge#0, charge#1, ...) and returns its recorded value on replay.
  async run(params: FulfilDto, ctx: WorkflowContext): Promise<{ chargeId: string; trackingId: string | null }> {
    const charge = await this.charge(params.orderId);
    const shipment = await ctx.awaitEvent<Shipment>(`shipment.${params.orderId}`, { timeout: '7d' }); // null after the timeout
    await ctx.sleep('100ms');
    return this.receipt(charge.chargeId, shipment);
  }

  @Step({ maxRetries: 3 })
  async charge(orderId: string) {
    return this.payments.charge(orderId, { idempotencyKey: stepContext().idempotencyKey() }); // orders.fulfil/<runId>/charge#0
  }

  @Step()
  async receipt(chargeId: string, shipment: Shipment | null) {
    return { chargeId, trackingId: shipment?.trackingId ?? null };
  }
}
// #endregion

// #region flow
// No run(): the @Step methods run in declaration order, each with the one before's result.
@Workflow({ name: 'report.build' })
@Injectable()
export class BuildReport {
  @Step()
  async collect(ctx: FlowContext<{ day: string }>) {
    return [`${ctx.params.day}:a`, `${ctx.params.day}:b`];
  }

  // autoVersion: runs again while it calls ctx.repeat(); checkpoints page#0, page#1, page#2
  @Step({ autoVersion: true })
  async page(ctx: FlowContext) {
    if (ctx.iteration < 2) ctx.repeat();
    return { pages: ctx.iteration + 1 };
  }

  @Step()
  async publish(ctx: FlowContext<{ day: string }>) {
    return `${ctx.params.day}: ${(ctx.previousResult as { pages: number }).pages} pages`;
  }
}
// #endregion

// #region children
@Workflow({ name: 'reports.week' })
@Injectable()
export class BuildWeek {
  async run(params: { days: string[] }, ctx: WorkflowContext) {
    // A signal sent before this wait is kept with the run: it is never missed.
    const approval = await ctx.waitForSignal<{ by: string }>('approve', { timeout: '1d' });
    const children: string[] = [];
    for (const day of params.days) children.push(await ctx.startChild(BuildReport, { day })); // a class or a name
    const reports: (string | null)[] = [];
    for (const child of children) reports.push(await ctx.waitForChild<string>(child, { timeout: '1h' })); // woken by the child's end
    return { approvedBy: approval?.by ?? null, reports };
  }
}
// #endregion

// #region module
@Module({
  imports: [StemModule.forRoot({ workflows: { runLeaseDuration: '30s' } })], // store: the broker's; workflows: false turns them off
  providers: [FulfilOrder, BuildReport, BuildWeek, Payments],
})
export class WorkflowsModule {}
// #endregion

/** Waits until run `runId` is suspended on `topic` (an event emitted before that wakes nobody). */
async function waitingOn(stem: StemClient, runId: string, topic: string): Promise<void> {
  for (let i = 0; i < 1_000 && (await stem.workflows.get(runId))?.waitTopic !== topic; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Drives the workflows above through `StemClient.workflows`. */
export async function tour(stem: StemClient, payments: Payments, log: (...values: unknown[]) => void = console.log): Promise<void> {
  // #region start
  const runId = await stem.workflows.start(FulfilOrder, { orderId: '42' }); // params typed by run() and validated against FulfilDto
  // #endregion
  await waitingOn(stem, runId, 'shipment.42');
  // #region client
  await stem.workflows.emit('shipment.42', { trackingId: 'T1' }); // resumes every run waiting on the topic, each once
  const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 }); // done.value typed by run()
  log(done.state.status, done.value?.trackingId); // completed T1
  log((await stem.workflows.steps(runId)).map((s) => s.name).join(' ')); // charge#0 $awaitEvent#0 $sleep#0 receipt#0

  const week = await stem.workflows.start(BuildWeek, { days: ['mon', 'tue'] });
  await stem.workflows.signal(week, 'approve', { by: 'ada' });
  log((await stem.workflows.waitForCompletion(week, { timeout: 10_000 })).value); // { approvedBy: 'ada', reports: [ 'mon: 3 pages', 'tue: 3 pages' ] }
  // #endregion

  const stuck = await stem.workflows.start(FulfilOrder, { orderId: '43' });
  await waitingOn(stem, stuck, 'shipment.43');
  const first = (await stem.workflows.steps(stuck))[0]?.value;
  // #region rewind
  await stem.workflows.rewind(stuck, 'charge'); // clears charge#0 and what follows; the run goes on from there
  // #endregion
  await waitingOn(stem, stuck, 'shipment.43');
  const again = (await stem.workflows.steps(stuck))[0]?.value;
  log(payments.calls, JSON.stringify(first) === JSON.stringify(again)); // 3 true: charged again with the same idempotency key, so the same charge
  // #region cancel
  const cancelled = await stem.workflows.cancel(stuck, 'customer asked');
  log(cancelled?.status, cancelled?.cancellationData?.reason); // cancelled customer asked
  log((await stem.workflows.list({ workflow: FulfilOrder, status: 'cancelled' })).length); // 1
  // #endregion
}
