/** Options of `StemHealthIndicator.isHealthy`. */
export interface StemHealthOptions {
  /** Queues that must have a live worker. @default the queues of this app's tasks and worker */
  readonly queues?: readonly string[];
  /** A queue with more ready tasks than this is `down`. @default no limit */
  readonly maxQueueLag?: number;
}
