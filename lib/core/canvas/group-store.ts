import type { TaskError, TaskState } from '../envelope.js';

/** The terminal outcome of one group member, as stored. */
export interface GroupMemberResult {
  readonly taskId: string;
  /** `succeeded`, `failed` or `cancelled`. */
  readonly state: TaskState;
  /** The stored (encoded) result of a succeeded member. */
  readonly payload?: unknown;
  /** Id of the encoder of `payload`. */
  readonly resultEncoder?: string;
  readonly error?: TaskError;
}

/** A group as stored: one slot per member, in body order. */
export interface GroupStatus {
  readonly id: string;
  /** Number of members. */
  readonly expected: number;
  readonly meta: Readonly<Record<string, unknown>>;
  /** `results[i]` is member `i`'s outcome, `null` until it finishes. */
  readonly results: readonly (GroupMemberResult | null)[];
  /** Members finished (any terminal state). */
  readonly completed: number;
  /** Members finished in a state other than `succeeded`. */
  readonly failed: number;
  /** True when every member finished. */
  readonly isComplete: boolean;
  /** Task id that won {@link GroupStore.claimChord}, once claimed. */
  readonly chordClaimedBy?: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Stores group and chord state so that whichever worker finishes the last member can see the
 * group complete and dispatch the chord callback. Semantics every adapter keeps (checked by
 * `runGroupStoreContractTests`):
 * - `initGroup` creates or resets a group (results cleared, claim cleared);
 * - `addResult` is idempotent per index (a redelivered member overwrites its own slot) and returns
 *   the updated group atomically, or `null` when the group is unknown or expired;
 * - `claimChord` returns `true` to exactly one caller per group, even across processes.
 */
export interface GroupStore {
  /** Short adapter name (`memory`, `redis`, `postgres`). */
  readonly name: string;
  /**
   * Creates (or resets) a group of `expected` members.
   * @param ttl ms the group lives @default the store's default (1 day)
   */
  initGroup(id: string, expected: number, meta?: Record<string, unknown>, ttl?: number): Promise<void>;
  /**
   * Records member `index`'s outcome.
   * @throws RangeError when `index` is not in `0..expected-1`
   */
  addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null>;
  /** The group, or `null` when unknown or expired. */
  getGroup(groupId: string): Promise<GroupStatus | null>;
  /** `true` for the first caller only (`false` afterwards, and for unknown groups). */
  claimChord(groupId: string, callbackId: string): Promise<boolean>;
  /**
   * Gives up a claim made by `callbackId` (its dispatch failed), so the next attempt can claim
   * the chord again. A no-op when someone else holds it.
   */
  releaseChord(groupId: string, callbackId: string): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
