import { TestClock } from '../core/utils/clock.js';
import { toMillis } from '../core/workflow/workflow-duration.js';

/**
 * A manual clock for workflow tests: give it to the store, broker and runtime (or to
 * `StemWorkflowApp.inMemory({ clock })`), then `advance` time; sleeps and wait timeouts that fall
 * due resume with no real waiting.
 *
 * @example
 * const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
 * const app = await StemWorkflowApp.inMemory({ scripts: [napper], clock });
 * const runId = await app.startWorkflow('napper');
 * await clock.advance('1h');
 * (await app.waitForCompletion(runId)).state.status; // 'completed'
 */
export class FakeWorkflowClock extends TestClock {
  /** @param start initial epoch ms @default Date.now() */
  constructor(start?: number) {
    super(start);
  }

  /** Moves time forward by `ms` (or a duration string), firing due timers in order. */
  override advance(ms: number | string): Promise<void> {
    return super.advance(toMillis(ms, 'FakeWorkflowClock.advance'));
  }
}
