/** Meta keys of unique tasks. */
export const UniqueMeta = {
  /** Set by the caller to use this text as the unique key instead of the computed hash. */
  override: 'stem.unique.override',
  /** The lock key the envelope holds (set by the producer). */
  key: 'stem.unique.key',
  /** Task id that owns the lock. */
  owner: 'stem.unique.owner',
  /** Epoch ms when the lock lapses unless released earlier. */
  expiresAt: 'stem.unique.expiresAt',
  /** On the owner's status: `{ taskId, timestamp, headers, meta }` of every skipped duplicate. */
  duplicates: 'stem.unique.duplicates',
} as const;

/** Counter incremented for every skipped duplicate. */
export const DEDUPLICATED_METRIC = 'stem.tasks.deduplicated';
