/** One queue in a `StemHealthIndicator` report. */
export interface StemQueueHealth {
  readonly status: 'up' | 'down';
  /** Live workers consuming it (from heartbeats; paused ones do not count). */
  readonly workers: number;
  /** Ready tasks waiting, when the broker answered. */
  readonly pending?: number;
}

/** The `@nestjs/terminus` result shape: `{ [key]: { status, ...details } }`. */
export type StemHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' | 'down'; broker: 'up' | 'down'; backend: 'up' | 'down' | 'none'; queues: Record<string, StemQueueHealth>; error?: string }
>;
