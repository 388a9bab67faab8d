import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../core/utils/clock.js';
import type { WorkflowStore } from '../core/workflow/workflow-store.js';
import { uniqueName } from './contract-helpers.js';

/** A workflow store whose expired ended runs can be swept on demand. */
export interface SweepableWorkflowStore extends WorkflowStore {
  /** Removes what expired at `now` (or the store clock's now); returns how many runs. */
  sweepExpired(now?: number): Promise<number>;
}

/** How the retention suite gets stores: `retention` as the store's option (`undefined`: its default). */
export interface WorkflowRetentionContractFactory {
  create(clock: TestClock, options: { readonly retention?: number | false }): Promise<SweepableWorkflowStore>;
}

const DAY = 86_400_000;

/**
 * Retention of a {@link WorkflowStore}: completed, failed and cancelled runs and their checkpoints
 * expire once the store's clock passes their end plus the retention (default 7 days); running and
 * suspended runs never do; a rewind before expiry keeps the run.
 */
export function runWorkflowRetentionContractTests(adapter: string, factory: WorkflowRetentionContractFactory): void {
  describe(`WorkflowStore retention: ${adapter}`, () => {
    const T0 = Date.UTC(2030, 0, 1);
    const stores: WorkflowStore[] = [];
    const open = async (retention?: number | false) => {
      const clock = new TestClock(T0);
      const store = await factory.create(clock, retention === undefined ? {} : { retention });
      stores.push(store);
      return { clock, store };
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });

    it('ended runs and their checkpoints are kept until the retention passes, then gone', async () => {
      const { clock, store } = await open(60_000);
      const wf = uniqueName('wf-retention');
      const done = await store.createRun({ workflow: wf, params: {} });
      await store.saveStep(done.id, 'a', 1);
      await store.markCompleted(done.id, 'ok');
      const failed = await store.createRun({ workflow: wf, params: {} });
      await store.markFailed(failed.id, { type: 'Error', message: 'boom', at: T0 }, { terminal: true });
      const cancelled = await store.createRun({ workflow: wf, params: {} });
      await store.cancel(cancelled.id, { reason: 'stop' });
      await clock.advance(59_999);
      expect((await store.listRuns({ workflow: wf })).map((r) => r.id).sort()).toEqual([done.id, failed.id, cancelled.id].sort());
      expect(await store.listSteps(done.id)).toHaveLength(1);
      await clock.advance(1);
      for (const id of [done.id, failed.id, cancelled.id]) expect(await store.get(id)).toBeNull();
      expect(await store.listRuns({ workflow: wf })).toEqual([]);
      expect(await store.listSteps(done.id)).toEqual([]);
      expect(await store.readStep(done.id, 'a')).toBeNull();
      await store.sweepExpired();
      expect(await store.get(done.id)).toBeNull();
    });

    it('keeps ended runs 7 days by default', async () => {
      const { clock, store } = await open();
      const run = await store.createRun({ workflow: uniqueName('wf-retention'), params: {} });
      await store.markCompleted(run.id, 1);
      await clock.advance(7 * DAY - 1);
      expect(await store.get(run.id)).not.toBeNull();
      await clock.advance(1);
      expect(await store.get(run.id)).toBeNull();
    });

    it('never expires running or suspended runs', async () => {
      const { clock, store } = await open(1_000);
      const running = await store.createRun({ workflow: uniqueName('wf-retention'), params: {} });
      const waiting = await store.createRun({ workflow: uniqueName('wf-retention'), params: {} });
      await store.suspendOnTopic(waiting.id, 'wait', uniqueName('topic'));
      await clock.advance(30 * DAY);
      await store.sweepExpired();
      expect((await store.get(running.id))?.status).toBe('running');
      expect((await store.get(waiting.id))?.status).toBe('suspended');
    });

    it('a run rewound before it expired is kept', async () => {
      const { clock, store } = await open(1_000);
      const run = await store.createRun({ workflow: uniqueName('wf-retention'), params: {} });
      await store.saveStep(run.id, 'a', 1);
      await store.markCompleted(run.id, 1);
      await clock.advance(500);
      await store.rewindToStep(run.id, 'a');
      await clock.advance(10_000);
      await store.sweepExpired();
      expect(await store.get(run.id)).toMatchObject({ status: 'suspended', suspension: { type: 'rewind' } });
    });

    it('retention false keeps ended runs', async () => {
      const { clock, store } = await open(false);
      const run = await store.createRun({ workflow: uniqueName('wf-retention'), params: {} });
      await store.markCompleted(run.id, 1);
      await clock.advance(365 * DAY);
      await store.sweepExpired();
      expect((await store.get(run.id))?.status).toBe('completed');
    });
  });
}
