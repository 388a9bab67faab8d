import { describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore, StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { WORKFLOW_RUN_TASK, WorkflowScript } from '../../lib/core/index.js';
import { RunLeaseExtension } from '../../lib/core/workflow/run-lease.extension.js';
import { FakeWorkflowClock } from '../../lib/testing/index.js';

const LEASE = 2_000;
const T0 = Date.UTC(2030, 0, 1);
/** Lets pending store calls reach their (fake) answer timers. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A store whose lease requests take `delays[i]` ms of the clock to answer (a store coming back from an outage). */
function slowStore(clock: FakeWorkflowClock, delays: number[]) {
  const store = new InMemoryWorkflowStore({ clock });
  const calls: string[] = [];
  for (const method of ['claimRun', 'renewRunLease'] as const) {
    const original = store[method].bind(store);
    store[method] = async (runId: string, ownerId: string, ms: number) => {
      calls.push(`${method}@${clock.now() - T0}`);
      const delay = delays.shift() ?? 0;
      // NOTE: the request reaches the store at once but its answer arrives `delay` ms later.
      const granted = await original(runId, ownerId, ms);
      if (delay > 0) await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), delay));
      return granted;
    };
  }
  return { store, calls };
}

describe('RunLeaseExtension lease timing', () => {
  it('a claim answered after more than half a lease is claimed again, so the executor starts with a fresh lease', async () => {
    const clock = new FakeWorkflowClock(T0);
    const { store, calls } = slowStore(clock, [1_500]);
    const leases = new RunLeaseExtension(store, clock, LEASE, 'test', async () => undefined);
    const run = await store.createRun({ workflow: 'w', params: {} });
    const claimed = leases.claim(run.id, leases.newOwner());
    await settle();
    await clock.advance(1_500);
    expect(await claimed).toBe(true);
    expect(calls).toEqual(['claimRun@0', 'claimRun@1500']);
    expect((await store.get(run.id))?.leaseExpiresAt).toBe(clock.now() + LEASE);
  });

  it('a claim answered quickly is used as it is', async () => {
    const clock = new FakeWorkflowClock(T0);
    const { store, calls } = slowStore(clock, [400]);
    const leases = new RunLeaseExtension(store, clock, LEASE, 'test', async () => undefined);
    const run = await store.createRun({ workflow: 'w', params: {} });
    const claimed = leases.claim(run.id, leases.newOwner());
    await settle();
    await clock.advance(400);
    expect(await claimed).toBe(true);
    expect(calls).toEqual(['claimRun@0']);
  });

  it('renews at half a lease counted from when the last renewal was sent, however long it took to answer', async () => {
    const clock = new FakeWorkflowClock(T0);
    const { store, calls } = slowStore(clock, [0, 800, 0]);
    const leases = new RunLeaseExtension(store, clock, LEASE, 'test', async () => undefined);
    const run = await store.createRun({ workflow: 'w', params: {} });
    const owner = leases.newOwner();
    expect(await leases.claim(run.id, owner)).toBe(true);
    const lost: unknown[] = [];
    const stop = leases.keepAlive({ runId: run.id, ownerId: owner }, (error) => lost.push(error));
    await clock.advance(3_100);
    stop();
    // Sent at 1000 and answered at 1800, the first renewal is followed by one at 2000, not 2800.
    expect(calls).toEqual(['claimRun@0', 'renewRunLease@1000', 'renewRunLease@2000', 'renewRunLease@3000']);
    expect(lost).toEqual([]);
  });
});

describe('a store that fails during an execution', () => {
  it('does not fail the run: its run task is retried and the run completes from its last checkpoint', async () => {
    const store = new InMemoryWorkflowStore();
    const executions: string[] = [];
    const save = store.saveStep.bind(store);
    let outage = true;
    store.saveStep = (runId, name, value, options) => {
      if (name === 'b#0' && outage) {
        outage = false;
        return Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      }
      return save(runId, name, value, options);
    };
    const script = new WorkflowScript<{ n: number }, number>({
      name: 'store.outage',
      run: async (ctx) => {
        const a = await ctx.step('a', () => (executions.push('a'), ctx.params.n));
        const b = await ctx.step('b', () => (executions.push('b'), a + 1));
        return ctx.step('c', () => (executions.push('c'), b * 2));
      },
    });
    const app = await StemWorkflowApp.create({ broker: new InMemoryBroker(), store }, { scripts: [script], concurrency: 2 });
    try {
      const id = await app.startWorkflow('store.outage', { n: 1 });
      const done = await app.waitForCompletion<number>(id, { timeout: '20s' });
      expect(done.state.status).toBe('completed');
      expect(done.value).toBe(4);
      expect(done.state.lastError).toBeNull();
      // The step whose checkpoint could not be written ran again; the one before it did not.
      expect(executions).toEqual(['a', 'b', 'b', 'c']);
    } finally {
      await app.shutdown();
    }
  }, 30_000);

  it('a run task whose run no longer exists ends once instead of being put back forever', async () => {
    const store = new InMemoryWorkflowStore();
    let claims = 0;
    const claim = store.claimRun.bind(store);
    store.claimRun = (...args) => (claims++, claim(...args));
    const app = await StemWorkflowApp.create({ broker: new InMemoryBroker(), backend: new InMemoryResultBackend(), store }, { scripts: [], concurrency: 2 });
    try {
      const id = await app.stem.enqueue(WORKFLOW_RUN_TASK, { runId: 'run-removed-by-retention' });
      const done = await app.stem.waitForTask(id, { timeout: 5_000 });
      expect(done.timedOut).toBe(false);
      expect(done.status?.state).toBe('succeeded');
      expect(done.status?.attempt).toBe(0);
      // One claim by the lease extension, one by the run task itself: no claim loop.
      expect(claims).toBe(2);
    } finally {
      await app.shutdown();
    }
  });
});
