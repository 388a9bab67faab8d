import type { WorkerStats } from '../worker/worker-stats.js';

/** What a worker answers to `ping`. */
export interface PingReply {
  readonly pong: true;
  /** Epoch ms on the worker. */
  readonly at: number;
}

/** What a worker answers to `stats`. */
export interface StatsReply extends WorkerStats {
  readonly prefetch: number;
  readonly consumedQueues: readonly string[];
  readonly pausedQueues: readonly string[];
  readonly revoked: number;
  /** Ms since the worker's control started. */
  readonly uptime: number;
  /** Resident set size in bytes. */
  readonly memory: number;
  readonly pid: number;
  readonly host: string;
  readonly version: string;
}

/** A running task, as `inspect` shows it. */
export interface ActiveTaskInfo {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly attempt: number;
  /** Epoch ms it got its slot. */
  readonly startedAt: number;
  readonly runtimeMs: number;
}

/** A prefetched task waiting for a slot, as `inspect` shows it. */
export interface PrefetchedTaskInfo {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly attempt: number;
}

/** What a worker answers to `inspect` (lists capped at {@link INSPECT_LIST_LIMIT}, totals exact). */
export interface InspectReply {
  readonly active: readonly ActiveTaskInfo[];
  readonly activeTotal: number;
  readonly prefetched: readonly PrefetchedTaskInfo[];
  readonly prefetchedTotal: number;
  readonly revoked: readonly string[];
  readonly revokedTotal: number;
  readonly pausedQueues: readonly string[];
}

/** What a worker answers to `revoke`. */
export interface RevokeReply {
  /** Live revocations it holds after re-reading the store. */
  readonly revoked: number;
  /** Running tasks it terminated. */
  readonly terminated: readonly string[];
}

/** What a worker answers to `pause` and `resume`. */
export interface PauseReply {
  readonly pausedQueues: readonly string[];
  readonly consumedQueues: readonly string[];
}

/** What a worker answers to `shutdown` (before it starts draining). */
export interface ShutdownReply {
  readonly mode: string;
  readonly active: number;
}

/** Lists in control replies are cut to this many items, so a reply fits one message. */
export const INSPECT_LIST_LIMIT = 50;
