import { StemWorkflowApp, type StemWorkflowAppOptions } from '../../lib/adapters/memory/index.js';
import type { RunState, WorkflowStatus, WorkflowStore } from '../../lib/core/index.js';
import { FakeWorkflowClock } from '../../lib/testing/index.js';

export const T0 = Date.UTC(2030, 0, 1);

/** Resolves once the run reaches `status` (seen through the store's watch, no polling), and `also` holds. */
export function untilStatus(store: WorkflowStore, runId: string, status: WorkflowStatus, also: (state: RunState) => boolean = () => true, timeoutMs = 10_000): Promise<RunState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      void store
        .get(runId)
        .then((s) => reject(new Error(`run ${runId} did not reach ${status} within ${timeoutMs} ms (now ${s?.status}, ${JSON.stringify(s?.lastError ?? s?.suspension)})`)));
    }, timeoutMs);
    const check = (state: RunState | null) => {
      if (state?.status !== status || !also(state)) return;
      clearTimeout(timer);
      stop();
      resolve(state);
    };
    const stop = store.watch(runId, check);
    void store.get(runId).then(check, reject);
  });
}

/** An in-memory app on a fake clock, with the due-run sweep off unless asked for. */
export async function fakeApp(options: StemWorkflowAppOptions = {}): Promise<{ app: StemWorkflowApp; clock: FakeWorkflowClock }> {
  const clock = new FakeWorkflowClock(T0);
  const app = await StemWorkflowApp.inMemory({ sweepInterval: 0, ...options, clock });
  return { app, clock };
}
