/** Counters of a worker since it started. */
export interface WorkerStats {
  readonly id: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  /** Tasks running now. */
  readonly active: number;
  /** Deliveries fetched and waiting for a slot. */
  readonly buffered: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
  /** Tasks ended `cancelled` (revoked). */
  readonly cancelled: number;
  /** Counters of the executors that report them, by name (e.g. `thread`: the pool's size, busy threads, replacements). */
  readonly executors: Readonly<Record<string, unknown>>;
}
