import type { TaskError, TaskState } from '../envelope.js';

/** How long a chord claim holds (ms) when neither the call nor the store says otherwise. */
export const DEFAULT_CHORD_CLAIM_TIMEOUT_MS = 30_000;

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
  /** Epoch ms when the member's outcome was recorded (the recording worker's clock). */
  readonly completedAt?: number;
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
  /**
   * When the current chord claim lapses (epoch ms, the store's clock): past it, an undispatched
   * claim can be taken again. Absent while unclaimed.
   */
  readonly chordClaimExpiresAt?: number;
  /** True once {@link GroupStore.markChordDispatched} recorded the callback as published. */
  readonly chordDispatched?: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** What {@link GroupStore.createGroup} resolves with. */
export interface CreateGroupResult {
  /** `true` for the one caller that created the group; `false` when it already existed. */
  readonly created: boolean;
  /** The group as stored: the new one, or the existing one untouched. */
  readonly group: GroupStatus;
}

/**
 * Stores group and chord state so that whichever worker finishes the last member can see the
 * group complete and dispatch the chord callback. Semantics every adapter keeps (checked by
 * `runGroupStoreContractTests`):
 * - `initGroup` creates or resets a group (results cleared, claim cleared);
 * - `createGroup` creates a group only when none is live under that id: exactly one of many
 *   concurrent callers, in any process, gets `created: true`; the others get the existing group;
 * - `addResult` is idempotent per index (a redelivered member overwrites its own slot) and returns
 *   the updated group atomically, or `null` when the group is unknown or expired;
 * - `claimChord` returns `true` to exactly one caller at a time, even across processes; a claim
 *   carries a deadline (the claim timeout), so when its holder died before publishing the
 *   callback, a later attempt can claim it again once the deadline passed;
 * - `markChordDispatched` ends that: a dispatched chord is never claimed again.
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
   * Creates a group of `expected` members unless a live one exists under `id`, atomically; an
   * existing group is returned as it is (meta, results and claim untouched). An expired group
   * counts as absent.
   * @param ttl ms the group lives @default the store's default (1 day)
   */
  createGroup(id: string, expected: number, meta?: Record<string, unknown>, ttl?: number): Promise<CreateGroupResult>;
  /**
   * Records member `index`'s outcome.
   * @throws RangeError when `index` is not in `0..expected-1`
   */
  addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null>;
  /** The group, or `null` when unknown or expired. */
  getGroup(groupId: string): Promise<GroupStatus | null>;
  /**
   * Claims the chord callback's dispatch: `true` for one caller while the claim holds; `false`
   * to everyone else, for unknown groups, and once the chord is dispatched. A claim that was
   * neither released nor marked dispatched within `claimTimeout` lapses and can be claimed again.
   * @param claimTimeout ms the claim holds @default the store's `chordClaimTimeout` option (30 s)
   */
  claimChord(groupId: string, callbackId: string, claimTimeout?: number): Promise<boolean>;
  /**
   * Gives up a claim made by `callbackId` (its dispatch failed), so the next attempt can claim
   * the chord again. A no-op when someone else holds it or the chord is dispatched.
   */
  releaseChord(groupId: string, callbackId: string): Promise<void>;
  /**
   * Records that the callback `callbackId` was published: the claim never lapses and the chord
   * is never claimed again. A no-op for unknown groups.
   */
  markChordDispatched(groupId: string, callbackId: string): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
