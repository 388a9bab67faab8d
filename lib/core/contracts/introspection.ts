import type { TaskState, TaskStatus } from '../envelope.js';
import type { Broker } from './broker.js';
import type { ResultBackend, TaskStatusListRequest, TaskStatusPage } from './result-backend.js';

/** Counts for one queue at one moment, as an operations page shows them. */
export interface QueueStats {
  readonly queue: string;
  /** Ready to run now (not delayed, not leased). */
  readonly pending: number;
  /** Waiting for their `notBefore` (countdown, eta, retry backoff, rate-limit delay). */
  readonly delayed: number;
  /** Leased by a worker and not yet acknowledged. */
  readonly inflight: number;
  /** Dead letters kept for this queue. */
  readonly deadLetters: number;
  /** Epoch ms at which the oldest ready task became ready, or `null` when none is waiting. */
  readonly oldestReadyAt: number | null;
}

/**
 * A broker that can describe its queues cheaply (each call answers in a bounded number of round
 * trips, whatever the queue sizes). Optional: callers fall back to `pendingCount`/`inflightCount`.
 */
export interface BrokerIntrospection {
  /** Every queue the broker has seen a publish or a consumer for, sorted by name. */
  listQueues(): Promise<string[]>;
  /** Counts for `queue` (zeros for an unknown queue). */
  queueStats(queue: string): Promise<QueueStats>;
}

/** Whether `broker` implements {@link BrokerIntrospection}. */
export function hasBrokerIntrospection(broker: Broker): broker is Broker & BrokerIntrospection {
  const b = broker as Partial<BrokerIntrospection>;
  return typeof b.listQueues === 'function' && typeof b.queueStats === 'function';
}

/** One bucket of finished tasks. */
export interface ThroughputBucket {
  /** Epoch ms at which the bucket starts. */
  readonly at: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** A request for {@link ResultBackendIntrospection.throughput}. */
export interface ThroughputRequest {
  /** Only tasks of this queue; all queues when absent. */
  readonly queue?: string;
  /** Epoch ms; buckets from here to now. */
  readonly since: number;
  /** Bucket width in ms. @default 60000 */
  readonly bucketMs?: number;
}

/** A search over statuses: the list filters plus id and argument matches. */
export interface TaskSearchRequest extends TaskStatusListRequest {
  /** Statuses whose id starts with this text. */
  readonly idPrefix?: string;
  /**
   * JSON the task's recorded arguments must contain (Postgres `@>` semantics: every key and
   * value given must be present). Backends that cannot search arguments reject it with an error
   * naming the backend.
   */
  readonly argsContain?: unknown;
}

/** A status with the arguments recorded when the task was enqueued. */
export interface TaskStatusWithArgs extends TaskStatus {
  /** The task's arguments as the envelope carried them (an args encoder's output stays encoded), when recorded. */
  readonly args?: unknown;
  /**
   * Set instead of `args` when the arguments were too large to record (or not JSON): the size in
   * bytes of their JSON (0 when JSON could not carry them).
   */
  readonly argsTruncated?: number;
}

/**
 * A result backend that can answer operations queries fast on a big store (indexes, counters),
 * within 200 ms with a million finished tasks. Optional: callers fall back to `listStatuses`.
 */
export interface ResultBackendIntrospection {
  /** Counts of statuses by state, for one queue or all. */
  countByState(queue?: string): Promise<Record<TaskState, number>>;
  /** Finished tasks per bucket since `request.since`, oldest bucket first, empty buckets included. */
  throughput(request: ThroughputRequest): Promise<ThroughputBucket[]>;
  /** Filters, id prefix and (where supported) argument containment, most recently updated first. */
  searchStatuses(request: TaskSearchRequest): Promise<TaskStatusPage>;
  /** One status with its recorded arguments, or `null` when unknown or expired. */
  getWithArgs(id: string): Promise<TaskStatusWithArgs | null>;
}

/** Whether `backend` implements {@link ResultBackendIntrospection}. */
export function hasResultBackendIntrospection(backend: ResultBackend): backend is ResultBackend & ResultBackendIntrospection {
  const b = backend as Partial<ResultBackendIntrospection>;
  return typeof b.countByState === 'function' && typeof b.throughput === 'function' && typeof b.searchStatuses === 'function' && typeof b.getWithArgs === 'function';
}
