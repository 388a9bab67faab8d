import type { WorkflowWatcher } from '../../core/workflow/run-state.js';
import { copyValue } from './in-memory.workflow-record.js';

/** The durable event watchers of the in-memory workflow store: topic → run → watcher, in registration order. */
export class InMemoryWatcherIndex {
  private readonly byTopic = new Map<string, Map<string, WorkflowWatcher>>();

  /** Registers (or replaces) the watcher of `watcher.runId` on its topic. */
  add(watcher: WorkflowWatcher): void {
    let byRun = this.byTopic.get(watcher.topic);
    if (!byRun) this.byTopic.set(watcher.topic, (byRun = new Map()));
    byRun.set(watcher.runId, watcher);
  }

  /** Removes the watcher of `runId` on `topic`, if any. */
  remove(topic: string, runId: string): void {
    const byRun = this.byTopic.get(topic);
    byRun?.delete(runId);
    if (byRun?.size === 0) this.byTopic.delete(topic);
  }

  /** Removes and returns up to `limit` watchers of `topic`, oldest first. */
  take(topic: string, limit: number): WorkflowWatcher[] {
    const byRun = this.byTopic.get(topic);
    if (!byRun) return [];
    const out: WorkflowWatcher[] = [];
    for (const [runId, watcher] of byRun) {
      if (out.length >= limit) break;
      byRun.delete(runId);
      out.push(watcher);
    }
    if (byRun.size === 0) this.byTopic.delete(topic);
    return out;
  }

  /** Copies of the watchers of one topic or all, oldest first. */
  list(topic: string | undefined, limit: number): WorkflowWatcher[] {
    const all = topic === undefined ? [...this.byTopic.values()].flatMap((m) => [...m.values()]) : [...(this.byTopic.get(topic)?.values() ?? [])];
    all.sort((a, b) => a.createdAt - b.createdAt);
    return all.slice(0, limit).map(copyValue);
  }
}
