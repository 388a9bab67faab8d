import { afterEach, describe, expect, it } from 'vitest';
import type { StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { Flow, stepContext, WorkflowContextMissingError, WorkflowScript, type FlowContext } from '../../lib/core/index.js';
import { fakeApp } from './workflow-test-helpers.js';

/** A promise with its resolve function, to hold a step until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('stepContext() scope', () => {
  let app: StemWorkflowApp;
  afterEach(async () => {
    await app?.shutdown();
  });

  it('a step keeps its context across awaits while other runs start and finish steps; outside any step it throws', async () => {
    const held = gate();
    const entered = gate();
    const seen: string[] = [];
    // NOTE: a plain function that returns an async helper's promise: the helper reads the context
    // after its own await, so the scope must already be entered when the step function is called.
    const later = async (label: string) => {
      await Promise.resolve();
      return `${label}:${stepContext().checkpoint}:${stepContext().runId}`;
    };
    ({ app } = await fakeApp({
      concurrency: 4,
      scripts: [
        new WorkflowScript({
          name: 'slow',
          run: async (ctx) =>
            ctx.step('hold', async () => {
              entered.open();
              await held.promise;
              seen.push(`slow:${stepContext().checkpoint}:${stepContext().runId}`);
              return later('slow-after');
            }),
        }),
        new WorkflowScript({
          name: 'quick',
          run: async (ctx) => {
            await ctx.step('sync', () => stepContext().checkpoint);
            return ctx.step('helper', () => later('quick'));
          },
        }),
      ],
      flows: [new Flow({ name: 'flowing', build: (f) => f.step('only', async (ctx: FlowContext) => later(`flow-${ctx.iteration}`)) })],
    }));
    const slowId = await app.startWorkflow('slow');
    await entered.promise;
    const quickId = await app.startWorkflow('quick');
    const flowId = await app.startWorkflow('flowing');
    expect((await app.waitForCompletion(quickId, { timeout: '1m' })).value).toBe(`quick:helper#0:${quickId}`);
    expect((await app.steps(quickId)).map((s) => s.value)).toEqual(['sync#0', `quick:helper#0:${quickId}`]);
    expect((await app.waitForCompletion(flowId, { timeout: '1m' })).value).toBe(`flow-0:only:${flowId}`);
    held.open();
    expect((await app.waitForCompletion(slowId, { timeout: '1m' })).value).toBe(`slow-after:hold#0:${slowId}`);
    expect(seen).toEqual([`slow:hold#0:${slowId}`]);
    expect(() => stepContext()).toThrow(WorkflowContextMissingError);
  });

  it('a step that throws synchronously or rejects leaves no context behind', async () => {
    ({ app } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'throws',
          run: async (ctx) => {
            await ctx
              .step('sync', () => {
                throw new Error('sync boom');
              })
              .catch(() => undefined);
            return 'unreachable';
          },
        }),
        new WorkflowScript({
          name: 'rejects',
          run: async (ctx) =>
            ctx.step('async', async () => {
              await Promise.resolve();
              throw new Error('async boom');
            }),
        }),
      ],
    }));
    const a = await app.startWorkflow('throws');
    const b = await app.startWorkflow('rejects');
    expect((await app.waitForCompletion(a, { timeout: '1m' })).state).toMatchObject({ status: 'failed', lastError: { message: 'sync boom' } });
    expect((await app.waitForCompletion(b, { timeout: '1m' })).state).toMatchObject({ status: 'failed', lastError: { message: 'async boom' } });
    expect(() => stepContext()).toThrow(WorkflowContextMissingError);
  });
});
