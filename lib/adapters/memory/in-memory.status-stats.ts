import type { ResultBackendIntrospection, TaskSearchRequest, TaskStatusWithArgs, ThroughputBucket, ThroughputRequest } from '../../core/contracts/introspection.js';
import type { TaskStatusPage } from '../../core/contracts/result-backend.js';
import type { TaskState, TaskStatus } from '../../core/envelope.js';
import type { Clock } from '../../core/utils/clock.js';
import { ArgsSearchUnsupportedError } from '../../core/errors/args-search-unsupported.error.js';
import { jsonContains } from '../../core/utils/json-contains.js';
import type { RecordedArgs } from '../../core/utils/recorded-args.js';
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
  protected abstract readonly entries: Map<string, { status: TaskStatus; expiresAt: number; args?: RecordedArgs }>;
  protected abstract live(id: string, now: number): TaskStatus | undefined;
  /** Bytes of argument JSON recorded (0: `recordArgs` is off, so `argsContain` is refused). */
  protected abstract readonly argsLimit: number;
  /** Minute start → queue → finished counts. */
  private readonly minutes = new Map<number, Map<string, Counts>>();

  async countByState(queue?: string): Promise<Record<TaskState, number>> {
    const now = this.clock.now();
    const counts = zeroStateCounts();
    for (const entry of this.entries.values()) {
      if (entry.expiresAt <= now || (queue !== undefined && entry.status.queue !== queue)) continue;
      counts[entry.status.state]++;
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
    const matching: TaskStatus[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt <= now) continue;
      const s = entry.status;
      if (request.state && s.state !== request.state) continue;
      if (request.queue && s.queue !== request.queue) continue;
      if (request.name && s.name !== request.name) continue;
      if (request.idPrefix !== undefined && !id.startsWith(request.idPrefix)) continue;
      if (request.argsContain !== undefined && !(entry.args && 'json' in entry.args && jsonContains(JSON.parse(entry.args.json), request.argsContain))) continue;
      matching.push(s);
    }
    matching.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const items = matching.slice(offset, offset + limit);
    const next = offset + items.length;
    return { items, ...(next < matching.length ? { nextOffset: next } : {}) };
  }

  async getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    const status = this.live(id, this.clock.now());
    if (!status) return null;
    const args = this.entries.get(id)?.args;
    if (!args) return status;
    return 'json' in args ? { ...status, args: JSON.parse(args.json) as unknown } : { ...status, argsTruncated: args.truncated };
  }

  /** Counts a status that just turned `succeeded` or `failed` in its minute. */
  protected countFinished(status: TaskStatus, now: number): void {
    if (status.state !== 'succeeded' && status.state !== 'failed') return;
    const minute = Math.floor(now / THROUGHPUT_MINUTE_MS) * THROUGHPUT_MINUTE_MS;
    let byQueue = this.minutes.get(minute);
    if (!byQueue) {
      this.minutes.set(minute, (byQueue = new Map()));
      for (const old of this.minutes.keys()) if (old < now - THROUGHPUT_RETENTION_MS) this.minutes.delete(old);
    }
    const queue = status.queue ?? '';
    let counts = byQueue.get(queue);
    if (!counts) byQueue.set(queue, (counts = { succeeded: 0, failed: 0 }));
    counts[status.state]++;
  }
}
