import { describe, expect, it } from 'vitest';
import { InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { TestClock } from '../../lib/core/index.js';
import { DueRunSweeper } from '../../lib/core/workflow/due-run-sweeper.js';

describe('DueRunSweeper: orphaned runs', () => {
  it('a backlog of orphans larger than one batch is handed to resume within a few ticks, not one batch per orphan period', async () => {
    const clock = new TestClock(5_000_000);
    const store = new InMemoryWorkflowStore({ clock });
    const runs = await Promise.all(Array.from({ length: 600 }, () => store.createRun({ workflow: 'orphaned', params: {} })));
    await clock.advance(10_000); // every run is now unchanged for longer than orphanAfter
    const resumed = new Set<string>();
    const resume = async (runId: string) => {
      resumed.add(runId);
      await store.saveStep(runId, 'picked-up', true); // a resumed run changes, so it is no orphan any more
    };
    const sweeper = new DueRunSweeper(store, clock, 100, 1_000, 256, resume, (error) => expect.fail(String(error)), 8_000);
    sweeper.start();
    /** Resolves once the sweep a tick started has finished and the next tick is set. */
    const settled = async () => {
      while ((sweeper as unknown as { tick?: Promise<void> }).tick) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    for (let tick = 0; tick < 4; tick++) {
      await clock.advance(100); // 400 ms in all, well under orphanAfter / 8
      await settled();
    }
    await sweeper.stop();
    expect(resumed.size).toBe(runs.length);
  });
});
