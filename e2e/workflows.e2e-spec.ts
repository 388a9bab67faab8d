import 'reflect-metadata';
import { Injectable, type INestApplication, Module, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsInt, IsString, Min, MinLength } from 'class-validator';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  type FlowContext,
  type RunState,
  Step,
  stepContext,
  StemClient,
  StemModule,
  type StemModuleOptions,
  Workflow,
  type WorkflowContext,
  type WorkflowRunId,
} from '../lib/index.js';

class FulfilDto {
  @IsString()
  @MinLength(1)
  orderId!: string;

  @IsInt()
  @Min(1)
  amount!: number;
}

interface Shipment {
  trackingId: string;
}

interface Receipt {
  orderId: string;
  total: number;
  trackingId: string | null;
  paramsWereDto: boolean;
}

@Injectable()
class Payments {
  readonly keys: string[] = [];
  async charge(orderId: string, amount: number, idempotencyKey: string): Promise<{ orderId: string; total: number }> {
    this.keys.push(idempotencyKey);
    return { orderId, total: amount };
  }
}

@Injectable()
class Mailer {
  readonly receipts: Receipt[] = [];
}

@Workflow({ name: 'orders.fulfil', params: FulfilDto })
@Injectable()
class FulfilOrder {
  constructor(
    private readonly payments: Payments,
    private readonly mailer: Mailer,
  ) {}

  async run(params: FulfilDto, ctx: WorkflowContext): Promise<Receipt> {
    const charge = await this.charge(params.orderId, params.amount);
    const shipment = await ctx.awaitEvent<Shipment>(`shipment.${params.orderId}`, { timeout: '30s' });
    await ctx.sleep('50ms');
    return this.notify(charge, shipment, params instanceof FulfilDto);
  }

  @Step({ maxRetries: 2 })
  async charge(orderId: string, amount: number) {
    return this.payments.charge(orderId, amount, stepContext().idempotencyKey());
  }

  @Step()
  async notify(charge: { orderId: string; total: number }, shipment: Shipment | null, paramsWereDto: boolean): Promise<Receipt> {
    const receipt = { orderId: charge.orderId, total: charge.total, trackingId: shipment?.trackingId ?? null, paramsWereDto };
    this.mailer.receipts.push(receipt);
    return receipt;
  }
}

@Injectable()
class Rows {
  of(day: string): string[] {
    return [`${day}:a`, `${day}:b`];
  }
}

@Workflow({ name: 'report.build' })
@Injectable()
class BuildReport {
  constructor(private readonly rows: Rows) {}

  @Step()
  async collect(ctx: FlowContext<{ day: string }>) {
    return this.rows.of(ctx.params.day);
  }

  @Step({ autoVersion: true })
  async page(ctx: FlowContext) {
    if (ctx.iteration < 2) ctx.repeat();
    return { page: ctx.iteration, previous: ctx.previousResult };
  }

  @Step({ name: 'publish' })
  async publishReport(ctx: FlowContext) {
    return { pages: (ctx.previousResult as { page: number }).page + 1 };
  }
}

@Injectable()
class Calls {
  readonly count: Record<string, number> = {};
  hit(step: string): number {
    this.count[step] = (this.count[step] ?? 0) + 1;
    return this.count[step];
  }
}

@Workflow({ name: 'rewind.me' })
@Injectable()
class Rewindable {
  constructor(private readonly calls: Calls) {}

  async run(_params: object, ctx: WorkflowContext) {
    await this.a();
    await this.b();
    await this.c();
    await ctx.awaitEvent('rewind.me.finish');
    return { ...this.calls.count };
  }

  @Step() async a() {
    return this.calls.hit('a');
  }

  @Step() async b() {
    return this.calls.hit('b');
  }

  @Step() async c() {
    return this.calls.hit('c');
  }
}

@Workflow({ name: 'approval.wait', cancellationPolicy: { maxSuspendDuration: '50ms' } })
@Injectable()
class AwaitApproval {
  async run(_params: object, ctx: WorkflowContext) {
    return ctx.awaitEvent('approval.never');
  }
}

@Workflow({ name: 'math.double' })
@Injectable()
class DoubleIt {
  async run(params: { n: number }) {
    return this.double(params.n);
  }

  @Step() async double(n: number) {
    return n * 2;
  }
}

@Workflow({ name: 'math.parent' })
@Injectable()
class TimesTwentyParent {
  async run(params: { n: number }, ctx: WorkflowContext) {
    const child = await ctx.startChild(DoubleIt, { n: params.n });
    const doubled = await ctx.waitForChild<number>(child, { timeout: '30s' });
    return { child, value: (doubled ?? 0) * 10 };
  }
}

@Injectable()
class CodeVersion {
  swapped = false;
}

@Workflow({ name: 'steps.order' })
@Injectable()
class OrderedSteps {
  constructor(private readonly version: CodeVersion) {}

  async run(_params: object, ctx: WorkflowContext) {
    if (this.version.swapped) {
      await this.second();
      await this.first();
    } else {
      await this.first();
      await this.second();
    }
    await ctx.awaitEvent('steps.order.go');
    return 'done';
  }

  @Step() async first() {
    return 1;
  }

  @Step() async second() {
    return 2;
  }
}

const WORKFLOWS: Provider[] = [FulfilOrder, BuildReport, Rewindable, AwaitApproval, DoubleIt, TimesTwentyParent, OrderedSteps];
const DEPENDENCIES: Provider[] = [Payments, Mailer, Rows, Calls, CodeVersion];

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions = { workflows: { sweepInterval: '20ms' } }): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: [...WORKFLOWS, ...DEPENDENCIES] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.E2E_LOG ? ['log', 'warn', 'error'] : false });
  apps.push(app);
  await app.init();
  return app;
}

/** Resolves once the run is suspended waiting on `topic` and `extra` holds. */
async function waitingOn(stem: StemClient, runId: string, topic: string, extra: (state: RunState) => boolean = () => true): Promise<RunState> {
  let last: RunState | null = null;
  await vi.waitFor(
    async () => {
      last = await stem.workflows.get(runId);
      if (last?.status !== 'suspended' || last.waitTopic !== topic || !extra(last)) throw new Error(`run ${runId} is ${last?.status} waiting on ${last?.waitTopic}`);
    },
    { timeout: 10_000, interval: 5 },
  );
  return last!;
}

describe('Durable workflows in a Nest app (in-memory)', () => {
  it('script form: DI works, awaitEvent + emit + sleep complete with the typed value, each step runs once', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const runId = await stem.workflows.start(FulfilOrder, { orderId: '42', amount: 30 });
    expectTypeOf(runId).toEqualTypeOf<WorkflowRunId<Receipt>>();
    await waitingOn(stem, runId, 'shipment.42');
    expect(await stem.workflows.emit('shipment.42', { trackingId: 'T1' })).toBe(1);
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expectTypeOf(done.value).toEqualTypeOf<Receipt | undefined>();
    expect(done.timedOut).toBe(false);
    expect(done.state.status).toBe('completed');
    expect(done.value).toEqual({ orderId: '42', total: 30, trackingId: 'T1', paramsWereDto: true });
    expect(app.get(Mailer).receipts).toHaveLength(1);
    // the run was replayed after the event and after the sleep; the charge ran once, with its stable key
    expect(app.get(Payments).keys).toEqual([`orders.fulfil/${runId}/charge#0`]);
    expect((await stem.workflows.steps(runId)).map((s) => s.name)).toEqual(['charge#0', '$awaitEvent#0', '$sleep#0', 'notify#0']);
    expect((await stem.workflows.list({ workflow: FulfilOrder, status: 'completed' })).map((r) => r.id)).toEqual([runId]);
  });

  it('flow form: steps run in declaration order with previousResult; autoVersion persists page#0..2', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const runId = await stem.workflows.start(BuildReport, { day: '2026-12-01' });
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done.state.status).toBe('completed');
    expect(done.value).toEqual({ pages: 3 });
    const steps = await stem.workflows.steps(runId);
    expect(steps.map((s) => s.name)).toEqual(['collect', 'page#0', 'page#1', 'page#2', 'publish']);
    const rows = ['2026-12-01:a', '2026-12-01:b'];
    expect(steps[0]!.value).toEqual(rows);
    expect(steps[1]!.value).toEqual({ page: 0, previous: rows });
    expect(steps[2]!.value).toEqual({ page: 1, previous: { page: 0, previous: rows } });
  });

  it('rewind re-runs the rewound step and the ones after it, not the ones before', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const calls = app.get(Calls);
    const runId = await stem.workflows.start(Rewindable, {});
    await waitingOn(stem, runId, 'rewind.me.finish');
    expect(calls.count).toEqual({ a: 1, b: 1, c: 1 });
    await stem.workflows.rewind(runId, 'b');
    await waitingOn(stem, runId, 'rewind.me.finish', () => calls.count.c === 2);
    await stem.workflows.emit('rewind.me.finish');
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done.value).toEqual({ a: 1, b: 2, c: 2 });
    const steps = await stem.workflows.steps(runId);
    expect(steps.map((s) => [s.name, s.value])).toEqual([
      ['a#0', 1],
      ['b#0', 2],
      ['c#0', 2],
      ['$awaitEvent#0', null],
    ]);
  });

  it('a cancellation policy that trips ends the run cancelled with its reason', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const runId = await stem.workflows.start(AwaitApproval, {});
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done.timedOut).toBe(false);
    expect(done.state.status).toBe('cancelled');
    expect(done.state.cancellationData).toMatchObject({ policy: 'maxSuspendDuration', reason: expect.stringMatching(/^maxSuspendDuration/) });
  });

  it('a child workflow started by class returns its result to the parent', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const runId = await stem.workflows.start(TimesTwentyParent, { n: 2 });
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done.state.status).toBe('completed');
    expect(done.value?.value).toBe(40);
    const child = await stem.workflows.get(done.value!.child);
    expect(child).toMatchObject({ workflow: 'math.double', status: 'completed', result: 4, parentRunId: runId });
  });

  it('a run whose code changed its step order fails with the divergence error naming both steps', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const runId = await stem.workflows.start(OrderedSteps, {});
    await waitingOn(stem, runId, 'steps.order.go');
    app.get(CodeVersion).swapped = true;
    await stem.workflows.emit('steps.order.go');
    const done = await stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
    expect(done.state.status).toBe('failed');
    expect(done.state.lastError).toMatchObject({ type: 'WorkflowDivergenceError', code: 'STEM_WORKFLOW_DIVERGENCE' });
    expect(done.state.lastError?.message).toMatch(/recorded step "first#0", attempted step "second#0"/);
  });
});
