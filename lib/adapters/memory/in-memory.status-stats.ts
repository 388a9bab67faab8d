import type { ResultBackendIntrospection, TaskSearchRequest, TaskStatusWithArgs, ThroughputBucket, ThroughputRequest } from '../../core/contracts/introspection.js';
import type { TaskStatusPage } from '../../core/contracts/result-backend.js';
import type { TaskState, TaskStatus } from '../../core/envelope.js';
import type { InMemoryStatusEntry } from './in-memory.status-record.js';
import type { Clock } from '../../core/utils/clock.js';
import { ArgsSearchUnsupportedError } from '../../core/errors/args-search-unsupported.error.js';
import { jsonContains } from '../../core/utils/json-contains.js';
import { fillThroughput, planThroughput, THROUGHPUT_MINUTE_MS, THROUGHPUT_RETENTION_MS, zeroStateCounts } from '../../core/utils/throughput-buckets.js';

interface Counts {
  succeeded: number;
  failed: number;
}

/**
 * The operations queries of the in-memory result backend: counts, finished tasks per minute
 * (counted as statuses turn `succeeded` or `failed`), search and recorded arguments. Scans the
 * map: fine for the embedded store, which holds what one process wrote.
 */
export abstract class InMemoryStatusStats implements ResultBackendIntrospection {
  protected abstract readonly clock: Clock;
  protected abstract readonly entries: Map<string, InMemoryStatusEntry>;
  protected abstract live(id: string, now: number): InMemoryStatusEntry | undefined;
  /** Bytes of argument JSON recorded (0: `recordArgs` is off, so `argsContain` is refused). */
  protected abstract readonly argsLimit: number;
  /** Minute start → queue → finished counts. */
  private readonly minutes = new Map<number, Map<string, Counts>>();
  /** The counts written last (finished tasks come in runs of one queue within a minute). */
  private lastCounts?: { readonly minute: number; readonly queue: string; readonly counts: Counts };

  async countByState(queue?: string): Promise<Record<TaskState, number>> {
    const now = this.clock.now();
    const counts = zeroStateCounts();
    for (const entry of this.entries.values()) {
      if (entry.expiresAt <= now || (queue !== undefined && entry.queue !== queue)) continue;
      counts[entry.state]++;
    }
    return counts;
  }

  async throughput(request: ThroughputRequest): Promise<ThroughputBucket[]> {
    const plan = planThroughput(request, this.clock.now());
    const minutes: [number, Counts][] = [];
    for (const [minute, byQueue] of this.minutes) {
      if (minute < plan.firstMinute || minute > plan.lastMinute) continue;
      if (request.queue !== undefined) {
        const counts = byQueue.get(request.queue);
        if (counts) minutes.push([minute, counts]);
      } else for (const counts of byQueue.values()) minutes.push([minute, counts]);
    }
    return fillThroughput(plan, minutes);
  }

  /** @throws ArgsSearchUnsupportedError for `argsContain` when `recordArgs` is off (nothing to search) */
  async searchStatuses(request: TaskSearchRequest): Promise<TaskStatusPage> {
    if (request.argsContain !== undefined && this.argsLimit === 0) throw new ArgsSearchUnsupportedError('memory', 'not-recorded');
    const now = this.clock.now();
    const limit = request.limit ?? 50;
    const offset = request.offset ?? 0;
    const matching: InMemoryStatusEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.expiresAt <= now) continue;
      if (request.state && entry.state !== request.state) continue;
      if (request.queue && entry.queue !== request.queue) continue;
      if (request.name && entry.name !== request.name) continue;
      if (request.idPrefix !== undefined && !entry.id.startsWith(request.idPrefix)) continue;
      if (request.argsContain !== undefined && !(entry.argsJson !== undefined && jsonContains(JSON.parse(entry.argsJson), request.argsContain))) continue;
      matching.push(entry);
    }
    matching.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const items: TaskStatus[] = matching.slice(offset, offset + limit).map((entry) => entry.status());
    const next = offset + items.length;
    return { items, ...(next < matching.length ? { nextOffset: next } : {}) };
  }

  async getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    const entry = this.live(id, this.clock.now());
    if (!entry) return null;
    const status = entry.status();
    const args = entry.args;
    if (!args) return status;
    return 'json' in args ? { ...status, args: JSON.parse(args.json) as unknown } : { ...status, argsTruncated: args.truncated };
  }

  /** Counts a status of `queue` that just turned `state` (`succeeded` or `failed` are counted) in its minute. */
  protected countFinished(state: TaskState, queue: string | undefined, now: number): void {
    if (state !== 'succeeded' && state !== 'failed') return;
    const minute = Math.floor(now / THROUGHPUT_MINUTE_MS) * THROUGHPUT_MINUTE_MS;
    const name = queue ?? '';
    let counts = this.lastCounts;
    if (!counts || counts.minute !== minute || counts.queue !== name) {
      let byQueue = this.minutes.get(minute);
      if (!byQueue) {
        this.minutes.set(minute, (byQueue = new Map()));
        for (const old of this.minutes.keys()) if (old < now - THROUGHPUT_RETENTION_MS) this.minutes.delete(old);
      }
      let found = byQueue.get(name);
      if (!found) byQueue.set(name, (found = { succeeded: 0, failed: 0 }));
      this.lastCounts = counts = { minute, queue: name, counts: found };
    }
    counts.counts[state]++;
  }
}
