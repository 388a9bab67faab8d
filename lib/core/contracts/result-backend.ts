import type { TaskError, TaskProgress, TaskState, TaskStatus } from '../envelope.js';

/** A status write for {@link ResultBackend.set}. */
export interface TaskStatusUpdate {
  readonly state: TaskState;
  readonly attempt: number;
  readonly name?: string;
  readonly queue?: string;
  /** Result value; cleared when absent. */
  readonly payload?: unknown;
  /** Error details; cleared when absent (a success overwrites an earlier error). */
  readonly error?: TaskError;
  /** Merged over the meta already stored. */
  readonly meta?: Record<string, unknown>;
  /**
   * The task's arguments, recorded where the backend records them (its `recordArgs` option) for
   * `getWithArgs` and argument search; the `queued` write carries
   * the envelope's. Writes without it keep the recorded arguments.
   */
  readonly args?: unknown;
}

/** Options for {@link ResultBackend.set}. */
export interface SetStatusOptions {
  /** Time to live in ms; the status disappears afterwards. @default the backend's default TTL */
  readonly ttl?: number;
  /**
   * Leave a live status that is already terminal (`succeeded`, `failed`, `cancelled`) as it is:
   * the write is dropped. The producer's `queued` write sets it, so enqueuing again with the same
   * task id never turns a finished task back into a queued one. @default false
   */
  readonly unlessTerminal?: boolean;
  /**
   * Leave a live status whose attempt is already this write's `attempt` or a later one as it is:
   * the write is dropped. The `queued` write of a dead-letter replay sets it, so a worker that
   * ran the replayed attempt before that write landed keeps its `running`, `succeeded` or
   * `failed`, while the dead attempt's terminal status (an earlier attempt) is replaced. Checked
   * in the same atomic step as the write. @default false
   */
  readonly unlessAttemptReached?: boolean;
}

/** A partial update that does not change the state (progress and heartbeats). */
export interface TaskStatusTouch {
  readonly progress?: TaskProgress;
  readonly heartbeatAt?: number;
  /** Merged over the stored meta, key by key; state, payload and error stay as they are. */
  readonly meta?: Record<string, unknown>;
}

/** Filters for {@link ResultBackend.listStatuses}. */
export interface TaskStatusListRequest {
  readonly state?: TaskState;
  readonly queue?: string;
  readonly name?: string;
  /** @default 50 */
  readonly limit?: number;
  /** @default 0 */
  readonly offset?: number;
}

/** One page of statuses, most recently updated first. */
export interface TaskStatusPage {
  readonly items: readonly TaskStatus[];
  readonly nextOffset?: number;
}

/** A live watch on a task's status. */
export interface StatusWatch {
  /** Stops delivering updates. */
  close(): Promise<void>;
}

/** A backend that can write a status inside a transaction the caller owns (Postgres). */
export interface TransactionalResultBackend extends ResultBackend {
  setWith(transaction: never, id: string, update: TaskStatusUpdate, options?: SetStatusOptions): Promise<void>;
}

/** Whether `backend` can write inside a caller's transaction. */
export function isTransactionalResultBackend(backend: ResultBackend): backend is TransactionalResultBackend {
  return typeof (backend as Partial<TransactionalResultBackend>).setWith === 'function';
}

/**
 * Stores task statuses and results. Every write is visible to `get` and `watch` in any process
 * sharing the backend (the in-memory backend: in this process). Writes for one task id made by
 * one process are applied in the order they were made, even when the caller does not wait for
 * one before making the next (the worker relies on it to overlap its writes).
 */
export interface ResultBackend {
  /** Short adapter name (`memory`, `redis`, `postgres`). */
  readonly name: string;
  /** Writes a status (creating or replacing it; `createdAt` is kept). */
  set(id: string, update: TaskStatusUpdate, options?: SetStatusOptions): Promise<void>;
  /** Merges progress/heartbeat into an existing status; a no-op when there is none. */
  touch(id: string, touch: TaskStatusTouch): Promise<void>;
  /** The status of a task, or `null` when unknown or expired. */
  get(id: string): Promise<TaskStatus | null>;
  /**
   * Calls `listener` with every status written for `id` after the watch is established. The
   * returned promise resolves once no later write can be missed.
   */
  watch(id: string, listener: (status: TaskStatus) => void): Promise<StatusWatch>;
  /** Lists statuses, most recently updated first. */
  listStatuses(request?: TaskStatusListRequest): Promise<TaskStatusPage>;
  /** Sets a new TTL on an existing status. */
  expire(id: string, ttl: number): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
  /**
   * Appends `values` to the array under meta `key` of an existing status in one atomic step, so
   * concurrent appends from any number of processes all land (a missing or non-array value is
   * replaced by a new array). State, payload and error stay as they are; a no-op when there is no
   * status. Optional: without it, callers fall back to a read-modify-write `touch`.
   */
  appendMeta?(id: string, key: string, values: readonly unknown[]): Promise<void>;
}
