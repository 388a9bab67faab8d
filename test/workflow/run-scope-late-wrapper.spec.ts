import { describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore, StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { asWorkflowStep, WorkflowScopeUnavailableError, WorkflowScript } from '../../lib/core/index.js';

// NOTE: its own file, so that no asWorkflowStep wrapper exists in the process before the run starts.
describe('an asWorkflowStep wrapper first created inside a running script', () => {
  it('refuses to run its function without a checkpoint; the retried run task checkpoints it, and it runs once', async () => {
    const charges: number[] = [];
    const errors: unknown[] = [];
    const script = new WorkflowScript<{ n: number }, number>({
      name: 'late.wrapper',
      run: async (ctx) => {
        const n = await ctx.step('read', () => ctx.params.n);
        // Created per run, after the run started: the first run of the process has no run scope.
        const charge = asWorkflowStep('charge', async (amount: number) => (charges.push(amount), amount * 2));
        try {
          return await charge(n);
        } catch (error) {
          errors.push(error);
          throw error;
        }
      },
    });
    const app = await StemWorkflowApp.create({ broker: new InMemoryBroker(), backend: new InMemoryResultBackend(), store: new InMemoryWorkflowStore() }, { scripts: [script] });
    try {
      const id = await app.startWorkflow('late.wrapper', { n: 21 });
      const done = await app.waitForCompletion<number>(id, { timeout: '15s' });
      expect(done.state.status).toBe('completed');
      expect(done.value).toBe(42);
      expect(charges).toEqual([21]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(WorkflowScopeUnavailableError);
      expect((errors[0] as Error).message).toMatch(/asWorkflowStep\("charge"\).*create wrappers at start-up/);
      expect((await app.store.listSteps(id)).map((s) => s.name)).toEqual(['read#0', 'charge#0']);
    } finally {
      await app.shutdown();
    }
  }, 30_000);
});
