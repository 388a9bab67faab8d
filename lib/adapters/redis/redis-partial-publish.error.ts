/**
 * Some script calls of one batch publish were stored and others failed: part of the batch is
 * enqueued. Deliberately not a `StemError` (which would mean nothing was stored), so the producer
 * reports `PublishOutcomeUnknownError` with every task id of the batch: enqueue the batch again
 * with the same task ids.
 */
export class RedisPartialPublishError extends Error {
  /** Stable error code. */
  readonly code = 'STEM_REDIS_PARTIAL_PUBLISH';

  constructor(
    readonly published: number,
    readonly failed: number,
    cause: unknown,
  ) {
    super(`${published} of ${published + failed} envelopes were published to Redis, the rest failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
    this.name = 'RedisPartialPublishError';
  }
}
