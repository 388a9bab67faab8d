import { type Broker, type DeadLetterEntry, hasDeadLetterAdmin } from '../core/contracts/broker.js';
import type { WorkerHeartbeat } from '../core/contracts/control-store.js';
import { hasBrokerIntrospection, hasResultBackendIntrospection, type ThroughputBucket } from '../core/contracts/introspection.js';
import type { ResultBackend, TaskStatusPage } from '../core/contracts/result-backend.js';
import { isTerminalState, type TaskState, type TaskStatus } from '../core/envelope.js';
import { readTraceContext } from '../core/observability/trace-headers.js';
import type { DashboardOptions, DashboardSources } from './dashboard.options.js';

/** The task states, in the order pages list them. */
export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'retried', 'succeeded', 'failed', 'cancelled'];

/** How far back the overview's throughput goes, in ms. */
export const THROUGHPUT_WINDOW_MS = 3_600_000;
/** Width of one bucket of the overview's throughput, in ms. */
export const THROUGHPUT_BUCKET_MS = 300_000;

/** Where the fallbacks stop reading (stores without introspection). */
const FALLBACK_SCAN = 1_000;

/** One queue on the overview. `null` means the store cannot tell. */
export interface QueueOverview {
  readonly queue: string;
  readonly pending: number;
  readonly inflight: number;
  readonly delayed: number | null;
  readonly deadLetters: number | null;
  /** The dead-letter count stopped at the scan limit. */
  readonly deadLettersCapped: boolean;
  readonly oldestReadyAt: number | null;
  /** Tasks finished in the last hour. */
  readonly doneLastHour: number | null;
  /** Live workers configured with this queue, and how many of them have it paused. */
  readonly consumers: number;
  readonly pausedBy: number;
  /** Paused in the control store. */
  readonly paused: boolean;
}

/** Everything the overview page shows. */
export interface Overview {
  readonly at: number;
  readonly queues: readonly QueueOverview[];
  readonly workers: readonly WorkerHeartbeat[];
  readonly throughput: readonly ThroughputBucket[];
  /** The throughput was counted from the newest statuses only (a store without introspection). */
  readonly throughputSampled: boolean;
  readonly states: Readonly<Record<TaskState, number>> | null;
}

/** Filters of the tasks page. */
export interface TaskQuery {
  readonly state?: TaskState;
  readonly queue?: string;
  readonly name?: string;
  /** A task id or the start of one. */
  readonly id?: string;
  /** JSON the arguments must contain. */
  readonly args?: unknown;
  readonly offset?: number;
  readonly limit?: number;
}

/** A task detail page's data. */
export interface TaskDetail {
  readonly status: TaskStatus | null;
  readonly args?: unknown;
  readonly hasArgs: boolean;
  readonly deadLetter: DeadLetterEntry | null;
  readonly traceId?: string;
}

/** Reads what the pages show, through the core contracts, using the optional introspection where the stores have it. */
export class DashboardData {
  constructor(
    readonly sources: DashboardSources,
    private readonly options: DashboardOptions,
  ) {}

  get broker(): Broker {
    return this.sources.broker;
  }

  get backend(): ResultBackend | null {
    return this.sources.backend ?? null;
  }

  /** Whether the tasks page can search arguments. */
  get canSearchArgs(): boolean {
    return this.backend !== null && hasResultBackendIntrospection(this.backend) && this.backend.name !== 'redis';
  }

  async workers(): Promise<WorkerHeartbeat[]> {
    return this.sources.controlStore ? this.sources.controlStore.listHeartbeats() : [];
  }

  /** Queues from the broker, the options, the workers and the newest statuses, sorted. */
  async queueNames(workers: readonly WorkerHeartbeat[]): Promise<string[]> {
    const names = new Set<string>(this.options.queues ?? []);
    for (const w of workers) for (const q of w.queues) names.add(q);
    if (hasBrokerIntrospection(this.broker)) for (const q of await this.broker.listQueues()) names.add(q);
    else if (this.backend) for (const s of (await this.backend.listStatuses({ limit: 200 })).items) if (s.queue) names.add(s.queue);
    for (const p of await this.pauses()) names.add(p.queue);
    return [...names].sort();
  }

  async pausedQueues(): Promise<Set<string>> {
    return new Set((await this.pauses()).filter((p) => p.paused).map((p) => p.queue));
  }

  private async pauses() {
    return this.sources.controlStore ? this.sources.controlStore.listQueuePauses() : [];
  }

  async overview(now = Date.now()): Promise<Overview> {
    const workers = await this.workers();
    const [names, paused] = await Promise.all([this.queueNames(workers), this.pausedQueues()]);
    const backend = this.backend;
    const introspect = backend && hasResultBackendIntrospection(backend) ? backend : null;
    const queues = await Promise.all(
      names.map(async (queue): Promise<QueueOverview> => {
        const counts = await this.queueCounts(queue);
        const done = introspect
          ? (await introspect.throughput({ queue, since: now - THROUGHPUT_WINDOW_MS, bucketMs: THROUGHPUT_WINDOW_MS })).reduce((n, b) => n + b.succeeded + b.failed, 0)
          : null;
        const consumers = workers.filter((w) => w.queues.includes(queue));
        return {
          queue,
          ...counts,
          doneLastHour: done,
          consumers: consumers.length,
          pausedBy: consumers.filter((w) => w.pausedQueues.includes(queue)).length,
          paused: paused.has(queue),
        };
      }),
    );
    const since = now - THROUGHPUT_WINDOW_MS;
    let throughput: ThroughputBucket[];
    let sampled = false;
    let states: Record<TaskState, number> | null = null;
    if (introspect) {
      [throughput, states] = await Promise.all([introspect.throughput({ since, bucketMs: THROUGHPUT_BUCKET_MS }), introspect.countByState()]);
    } else {
      sampled = true;
      throughput = await this.sampledThroughput(since, now, queues);
    }
    return { at: now, queues, workers, throughput, throughputSampled: sampled, states };
  }

  private async queueCounts(queue: string): Promise<Pick<QueueOverview, 'pending' | 'inflight' | 'delayed' | 'deadLetters' | 'deadLettersCapped' | 'oldestReadyAt'>> {
    const broker = this.broker;
    if (hasBrokerIntrospection(broker)) {
      const s = await broker.queueStats(queue);
      return { pending: s.pending, inflight: s.inflight, delayed: s.delayed, deadLetters: s.deadLetters, deadLettersCapped: false, oldestReadyAt: s.oldestReadyAt };
    }
    const [pending, inflight, dead] = await Promise.all([broker.pendingCount(queue), broker.inflightCount(queue), this.countDeadLetters(queue)]);
    return { pending, inflight, delayed: null, deadLetters: dead?.count ?? null, deadLettersCapped: dead?.capped ?? false, oldestReadyAt: null };
  }

  /** Dead letters of a queue, counted page by page up to the scan limit; `null` without dead-letter admin. */
  async countDeadLetters(queue: string): Promise<{ count: number; capped: boolean } | null> {
    if (!hasDeadLetterAdmin(this.broker)) return null;
    let count = 0;
    let offset: number | undefined = 0;
    while (offset !== undefined && count < FALLBACK_SCAN) {
      const page = await this.broker.listDeadLetters(queue, { limit: 500, offset });
      count += page.items.length;
      offset = page.nextOffset;
    }
    return { count, capped: offset !== undefined };
  }

  /** Throughput from the newest statuses (a backend without introspection), filled into empty buckets; also sets each queue's count. */
  private async sampledThroughput(since: number, now: number, queues: QueueOverview[]): Promise<ThroughputBucket[]> {
    const start = Math.floor(since / THROUGHPUT_BUCKET_MS) * THROUGHPUT_BUCKET_MS;
    const buckets = new Map<number, { succeeded: number; failed: number }>();
    for (let at = start; at <= now; at += THROUGHPUT_BUCKET_MS) buckets.set(at, { succeeded: 0, failed: 0 });
    const perQueue = new Map<string, number>();
    if (this.backend) {
      const { items } = await this.backend.listStatuses({ limit: FALLBACK_SCAN });
      for (const s of items) {
        if (s.updatedAt < since || !isTerminalState(s.state) || s.state === 'cancelled') continue;
        const bucket = buckets.get(Math.floor(s.updatedAt / THROUGHPUT_BUCKET_MS) * THROUGHPUT_BUCKET_MS);
        if (bucket) bucket[s.state === 'succeeded' ? 'succeeded' : 'failed']++;
        if (s.queue) perQueue.set(s.queue, (perQueue.get(s.queue) ?? 0) + 1);
      }
    }
    queues.forEach((q, i) => (queues[i] = { ...q, doneLastHour: this.backend ? (perQueue.get(q.queue) ?? 0) : null }));
    return [...buckets].map(([at, b]) => ({ at, ...b }));
  }

  /** The tasks page: filters, id prefix and argument search where the backend has them. */
  async tasks(query: TaskQuery): Promise<TaskStatusPage> {
    const backend = this.backend;
    if (!backend) return { items: [] };
    const limit = query.limit ?? 50;
    const filters = {
      ...(query.state ? { state: query.state } : {}),
      ...(query.queue ? { queue: query.queue } : {}),
      ...(query.name ? { name: query.name } : {}),
      limit,
      offset: query.offset ?? 0,
    };
    if (hasResultBackendIntrospection(backend)) {
      const page = await backend.searchStatuses({ ...filters, ...(query.id ? { idPrefix: query.id } : {}), ...(query.args !== undefined ? { argsContain: query.args } : {}) });
      const redact = this.options.redact;
      if (query.args === undefined || !redact) return page;
      // NOTE: a match on a hidden value would reveal it; only statuses whose shown (redacted) args still contain the query are listed.
      const shown = await Promise.all(page.items.map(async (s) => ({ s, found: await backend.getWithArgs(s.id) })));
      const items = shown
        .filter(({ s, found }) => found && 'args' in found && containsJson(redact(found.args, { kind: 'args', ...(s.name ? { name: s.name } : {}) }), query.args))
        .map(({ s }) => s);
      return { items, ...(page.nextOffset !== undefined ? { nextOffset: page.nextOffset } : {}) };
    }
    if (query.args !== undefined) throw new Error(`the "${backend.name}" result backend cannot search arguments; searching by arguments needs the Postgres result backend`);
    if (query.id) {
      const status = await backend.get(query.id);
      if (status) return { items: [status] };
      // NOTE: without introspection an id prefix is matched among the newest statuses only.
      const { items } = await backend.listStatuses({ ...filters, limit: FALLBACK_SCAN, offset: 0 });
      return { items: items.filter((s) => s.id.startsWith(query.id!)).slice(0, limit) };
    }
    return backend.listStatuses(filters);
  }

  /** Status, arguments, dead letter and trace id of one task. */
  async task(id: string, queueHint?: string): Promise<TaskDetail> {
    const backend = this.backend;
    let status: TaskStatus | null = null;
    let args: unknown;
    let hasArgs = false;
    if (backend && hasResultBackendIntrospection(backend)) {
      const found = await backend.getWithArgs(id);
      status = found;
      if (found && 'args' in found) {
        hasArgs = true;
        args = found.args;
      }
    } else if (backend) status = await backend.get(id);
    const queue = status?.queue ?? queueHint;
    const deadLetter = queue && hasDeadLetterAdmin(this.broker) ? await this.broker.getDeadLetter(queue, id) : null;
    if (!hasArgs && deadLetter) {
      hasArgs = true;
      args = deadLetter.envelope.args;
    }
    const traceparent = (status?.meta.traceparent as string | undefined) ?? deadLetter?.envelope.headers.traceparent;
    const traceId = traceparent ? readTraceContext({ traceparent })?.traceId : undefined;
    return { status, args, hasArgs, deadLetter, ...(traceId ? { traceId } : {}) };
  }
}

/** Whether `value` contains `query` as Postgres `@>` reads it: objects by key, arrays by element, the rest by equality. */
export function containsJson(value: unknown, query: unknown): boolean {
  if (Array.isArray(query)) return Array.isArray(value) && query.every((q) => value.some((v) => containsJson(v, q)));
  if (query !== null && typeof query === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(query).every(([k, q]) => k in value && containsJson((value as Record<string, unknown>)[k], q));
  }
  return value === query;
}
