import { expect, it } from 'vitest';
import type { WorkflowStore } from '../../lib/core/workflow/workflow-store.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';

/** Cases of `claimAndLoad` for a store that has it; `create` gives a store on `clock`. */
export function claimAndLoadCases(create: (clock: FakeWorkflowClock) => Promise<WorkflowStore>): void {
  it('claimAndLoad takes the lease like claimRun and returns the run with its checkpoints in order', async () => {
    const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
    const store = await create(clock);
    try {
      const run = await store.createRun({ workflow: 'load', params: { order: 7 } });
      await store.saveStep(run.id, 'a', { n: 1 });
      await store.saveStep(run.id, 'b', undefined, { meta: { note: 'x' } });
      const loaded = await store.claimAndLoad!(run.id, 'owner-a', 1_000);
      expect(loaded?.run).toMatchObject({ id: run.id, status: 'running', cursor: 2, params: { order: 7 }, ownerId: 'owner-a', leaseExpiresAt: clock.now() + 1_000 });
      expect(loaded?.steps).toEqual(await store.listSteps(run.id));
      expect(loaded?.steps.map((s) => [s.name, s.value, s.position, s.meta])).toEqual([
        ['a', { n: 1 }, 0, undefined],
        ['b', undefined, 1, { note: 'x' }],
      ]);
      expect(await store.claimAndLoad!(run.id, 'owner-b', 1_000)).toBeNull();
      expect(await store.claimRun(run.id, 'owner-b', 1_000)).toBe(false);
      await clock.advance(1_001);
      expect((await store.claimAndLoad!(run.id, 'owner-b', 1_000))?.run?.ownerId).toBe('owner-b');
      expect(await store.claimAndLoad!('no-such-run', 'owner-b', 1_000)).toBeNull();
    } finally {
      await store.close();
    }
  });
}
