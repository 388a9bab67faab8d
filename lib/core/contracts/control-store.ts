/**
 * A persisted revocation: a task id that must not run (or, with `terminate`, must stop running).
 * Entries are versioned: an upsert only replaces an entry with a lower `version`.
 */
export interface RevokeEntry {
  readonly taskId: string;
  /** Orders writes of the same task id: the higher version wins (epoch µs by default). */
  readonly version: number;
  /** Epoch ms when the revoke was issued. */
  readonly issuedAt: number;
  /** Abort the task if it is running. */
  readonly terminate: boolean;
  /** Why it was revoked (shown in status meta `stem.revoked.reason`). */
  readonly reason?: string;
  /** Who revoked it (shown in status meta `stem.revoked.by`). */
  readonly requestedBy?: string;
  /** Epoch ms after which the entry no longer applies and may be pruned. */
  readonly expiresAt?: number;
}

/** The persisted pause state of one queue; versioned like {@link RevokeEntry}. */
export interface QueuePauseEntry {
  readonly queue: string;
  readonly paused: boolean;
  readonly version: number;
  /** Epoch ms of the change. */
  readonly updatedAt: number;
  readonly requestedBy?: string;
}

/**
 * Where revocations and paused queues live, so that they outlive every worker process: workers
 * load it at start and re-sync it periodically, and a control broadcast only speeds that up.
 *
 * Rules every adapter keeps (checked by `runRevokeStoreContractTests`):
 * - `upsertRevokes` keeps, per task id, the entry with the highest `version` (a stale write is
 *   ignored, an equal version keeps the stored one);
 * - `listRevokes` returns live entries (not expired at `now`) ordered by version;
 * - `pruneRevokes` deletes expired entries and returns how many;
 * - queue pauses follow the same version rule.
 */
export interface RevokeStore {
  /** Stores entries where they are newer than what is stored; resolves with how many were written. */
  upsertRevokes(entries: readonly RevokeEntry[]): Promise<number>;
  /** Live entries (not expired at `now`, default the current time), ordered by version. */
  listRevokes(now?: number): Promise<RevokeEntry[]>;
  /** Deletes entries expired at `now`; resolves with how many were deleted. */
  pruneRevokes(now: number): Promise<number>;
  /** Stores a queue's pause state if it is newer than the stored one; resolves with whether it was written. */
  setQueuePause(entry: QueuePauseEntry): Promise<boolean>;
  /** Every queue's latest pause state (paused or resumed). */
  listQueuePauses(): Promise<QueuePauseEntry[]>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
}

/** What a worker reports about itself every heartbeat interval. */
export interface WorkerHeartbeat {
  readonly workerId: string;
  readonly host: string;
  readonly pid: number;
  /** Queues the worker was configured with. */
  readonly queues: readonly string[];
  /** Queues among them that are paused. */
  readonly pausedQueues: readonly string[];
  readonly concurrency: number;
  /** Tasks running now. */
  readonly active: number;
  /** Epoch ms when the worker started. */
  readonly startedAt: number;
  /** Epoch ms of this heartbeat. */
  readonly sentAt: number;
  /** Library version of the worker. */
  readonly version: string;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
}

/**
 * Live workers, from their heartbeats: each heartbeat is kept for its TTL, so a worker that
 * stops heart-beating disappears after it.
 */
export interface WorkerRegistry {
  /** Stores (or replaces) a worker's heartbeat for `ttl` ms. */
  recordHeartbeat(heartbeat: WorkerHeartbeat, ttl: number): Promise<void>;
  /** Heartbeats that have not expired, ordered by worker id. */
  listHeartbeats(): Promise<WorkerHeartbeat[]>;
  /** Forgets a worker at once (a worker that stopped cleanly). */
  removeHeartbeat(workerId: string): Promise<void>;
}

/** The persisted side of the control plane: revocations, paused queues and worker heartbeats. */
export interface ControlStore extends RevokeStore, WorkerRegistry {}
