import { describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { Flow, SimpleTaskRegistry, Stem, WorkflowRuntime, WorkflowScript } from '../../lib/core/index.js';
import { memoryTracing } from '../support/tracing.js';

function runtimeWith(provider: ReturnType<typeof memoryTracing>['provider']) {
  const broker = new InMemoryBroker();
  const stem = new Stem({ broker, backend: new InMemoryResultBackend(), registry: new SimpleTaskRegistry([]), tracing: { tracerProvider: provider } });
  return new WorkflowRuntime({ store: new InMemoryWorkflowStore(), producer: stem, sweepInterval: 0 });
}

describe('workflow spans', () => {
  it('an execution is a `workflow <name>` span with a `step <checkpoint>` span per new step, none for replayed steps', async () => {
    const { provider, spans } = memoryTracing();
    const runtime = runtimeWith(provider);
    runtime.register(
      new WorkflowScript<{ orderId: string }, number>({
        name: 'orders.trace',
        run: async (ctx) => {
          const a = await ctx.step('charge', () => 2);
          const b = await ctx.step('charge', () => 3);
          return ctx.step('total', () => a + b);
        },
      }),
    );
    const runId = await runtime.start('orders.trace', { orderId: '1' });
    expect((await runtime.executeRun(runId))?.status).toBe('completed');

    const recorded = spans().filter((s) => s.name.startsWith('workflow ') || s.name.startsWith('step '));
    const workflow = recorded.find((s) => s.name === 'workflow orders.trace')!;
    expect(workflow.attributes).toMatchObject({ 'stem.workflow.name': 'orders.trace', 'stem.workflow.run_id': runId });
    const steps = recorded.filter((s) => s.name.startsWith('step '));
    expect(steps.map((s) => s.name)).toEqual(['step charge#0', 'step charge#1', 'step total#0']);
    for (const step of steps) {
      expect(step.parentSpanId).toBe(workflow.spanId);
      expect(step.traceId).toBe(workflow.traceId);
      expect(step.attributes['stem.workflow.step']).toBe(step.name.slice('step '.length));
    }
    expect(JSON.stringify(recorded)).not.toContain('orderId');
  });

  it('a flow step that throws ends its span with ERROR and error.type', async () => {
    const { provider, spans } = memoryTracing();
    const runtime = runtimeWith(provider);
    runtime.register(
      new Flow({
        name: 'report.trace',
        build: (f) =>
          f.step('collect', () => {
            throw new Error('no rows');
          }),
      }),
    );
    await runtime.executeRun(await runtime.start('report.trace', {}));
    const step = spans().find((s) => s.name === 'step collect');
    expect(step?.status).toBe(2);
    expect(step?.attributes['error.type']).toBe('Error');
  });
});
