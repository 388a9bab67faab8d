import type { ThroughputBucket, ThroughputRequest } from '../contracts/introspection.js';

/** Width of the finished-task counters every backend keeps. */
export const THROUGHPUT_MINUTE_MS = 60_000;

/** Longest window a throughput request may ask for (the counters are kept this long). */
export const THROUGHPUT_RETENTION_MS = 86_400_000;

/** The bucket plan of a throughput request: aligned start, width and count. */
export interface ThroughputPlan {
  /** Epoch ms of the first bucket (a multiple of `bucketMs`). */
  readonly start: number;
  /** Bucket width, a whole number of minutes. */
  readonly bucketMs: number;
  readonly count: number;
  /** Epoch ms of the first minute counter to read. */
  readonly firstMinute: number;
  /** Epoch ms of the last minute counter to read. */
  readonly lastMinute: number;
}

/**
 * Aligns a request: buckets are whole minutes (a width is rounded up to one), start at a multiple
 * of their width, and reach back at most {@link THROUGHPUT_RETENTION_MS}.
 */
export function planThroughput(request: ThroughputRequest, now: number): ThroughputPlan {
  const width = Math.max(1, Math.ceil((request.bucketMs ?? THROUGHPUT_MINUTE_MS) / THROUGHPUT_MINUTE_MS)) * THROUGHPUT_MINUTE_MS;
  const since = Math.max(request.since, now - THROUGHPUT_RETENTION_MS);
  const start = Math.floor(Math.min(since, now) / width) * width;
  const count = Math.floor(now / width) - start / width + 1;
  const lastMinute = Math.floor(now / THROUGHPUT_MINUTE_MS) * THROUGHPUT_MINUTE_MS;
  return { start, bucketMs: width, count, firstMinute: start, lastMinute };
}

/** Sums per-minute counts (epoch ms of the minute → counts) into the plan's buckets, empty ones included. */
export function fillThroughput(plan: ThroughputPlan, minutes: Iterable<readonly [number, { succeeded: number; failed: number }]>): ThroughputBucket[] {
  const buckets = Array.from({ length: plan.count }, (_, i) => ({ at: plan.start + i * plan.bucketMs, succeeded: 0, failed: 0 }));
  for (const [minute, counts] of minutes) {
    const i = Math.floor((minute - plan.start) / plan.bucketMs);
    const bucket = buckets[i];
    if (!bucket) continue;
    bucket.succeeded += counts.succeeded;
    bucket.failed += counts.failed;
  }
  return buckets;
}

/** A count for every task state, all zero. */
export function zeroStateCounts(): Record<'queued' | 'running' | 'succeeded' | 'failed' | 'retried' | 'cancelled', number> {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, retried: 0, cancelled: 0 };
}
