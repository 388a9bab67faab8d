import 'reflect-metadata';
import { describe, expectTypeOf, it } from 'vitest';
import type { FlowContext, WorkflowContext } from '../../lib/core/index.js';
import { Step, Workflow, type WorkflowClassParams, type WorkflowClassResult, type WorkflowRunId, type StemWorkflows } from '../../lib/nest/index.js';

@Workflow({ name: 'typed.script' })
class TypedScript {
  async run(params: { orderId: string }, _ctx: WorkflowContext): Promise<{ total: number }> {
    return { total: params.orderId.length };
  }
}

@Workflow({ name: 'typed.flow' })
class TypedFlow {
  @Step() async collect(ctx: FlowContext<{ day: string }>) {
    return ctx.params.day;
  }
  @Step() async publish(ctx: FlowContext) {
    return ctx.previousResult;
  }
  helper(n: number) {
    return n;
  }
}

@Workflow({ name: 'typed.untyped' })
class Untyped {
  @Step() async only() {
    return 1;
  }
}

declare const workflows: StemWorkflows;

describe('StemClient.workflows types', () => {
  it('start is typed by run(): params checked, the run id carries the result into waitForCompletion', () => {
    expectTypeOf<WorkflowClassParams<TypedScript>>().toEqualTypeOf<{ orderId: string }>();
    expectTypeOf<WorkflowClassResult<TypedScript>>().toEqualTypeOf<{ total: number }>();
    const typed = () => workflows.start(TypedScript, { orderId: '1' });
    expectTypeOf(typed).returns.resolves.toEqualTypeOf<WorkflowRunId<{ total: number }>>();
    // @ts-expect-error: params must match run()'s first parameter
    void (() => workflows.start(TypedScript, { order: '1' }));
    // @ts-expect-error: params are required when run() types them
    void (() => workflows.start(TypedScript));
    const wait = (id: WorkflowRunId<{ total: number }>) => workflows.waitForCompletion(id);
    expectTypeOf(wait).returns.resolves.toHaveProperty('value').toEqualTypeOf<{ total: number } | undefined>();
    // a plain string id waits for an unknown result
    const plain = (id: string) => workflows.waitForCompletion(id);
    expectTypeOf(plain).returns.resolves.toHaveProperty('value').toEqualTypeOf<unknown>();
  });

  it("a flow's params come from its steps' FlowContext<P>; a flow that types none takes anything, optionally", () => {
    expectTypeOf<WorkflowClassParams<TypedFlow>>().toEqualTypeOf<{ day: string }>();
    // @ts-expect-error: the flow's steps read ctx.params.day
    void (() => workflows.start(TypedFlow, { month: 'x' }));
    expectTypeOf<WorkflowClassParams<Untyped>>().toEqualTypeOf<unknown>();
    void (() => workflows.start(Untyped));
    const byName = () => workflows.start<number>('typed.script', { anything: true });
    expectTypeOf(byName).returns.resolves.toEqualTypeOf<WorkflowRunId<number>>();
  });
});
