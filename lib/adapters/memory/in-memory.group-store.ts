import { type CreateGroupResult, DEFAULT_CHORD_CLAIM_TIMEOUT_MS, type GroupMemberResult, type GroupStatus, type GroupStore } from '../../core/canvas/group-store.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';

/** Options of {@link InMemoryGroupStore}. */
export interface InMemoryGroupStoreOptions {
  /** TTL in ms of groups created without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** ms a chord claim holds before another attempt may take it over. @default 30000 */
  readonly chordClaimTimeout?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

interface GroupEntry {
  readonly id: string;
  readonly expected: number;
  readonly meta: Record<string, unknown>;
  readonly results: (GroupMemberResult | null)[];
  readonly createdAt: number;
  readonly expiresAt: number;
  chordClaimedBy?: string;
  chordClaimExpiresAt?: number;
  chordDispatched?: boolean;
}

/** Groups and chord claims kept in this process (pairs with the in-memory broker and backend). */
export class InMemoryGroupStore implements GroupStore {
  readonly name = 'memory';
  private readonly groups = new Map<string, GroupEntry>();
  private readonly clock: Clock;
  private readonly defaultTtl: number;
  private readonly claimTimeout: number;

  constructor(options: InMemoryGroupStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.claimTimeout = options.chordClaimTimeout ?? DEFAULT_CHORD_CLAIM_TIMEOUT_MS;
  }

  async initGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<void> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    const now = this.clock.now();
    this.groups.set(id, { id, expected, meta: structuredClone(meta), results: new Array(expected).fill(null), createdAt: now, expiresAt: now + (ttl ?? this.defaultTtl) });
  }

  async createGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<CreateGroupResult> {
    const existing = this.live(id);
    if (existing) return { created: false, group: this.snapshot(existing) };
    await this.initGroup(id, expected, meta, ttl);
    return { created: true, group: this.snapshot(this.groups.get(id)!) };
  }

  async addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null> {
    const group = this.live(groupId);
    if (!group) return null;
    if (!Number.isInteger(index) || index < 0 || index >= group.expected) {
      throw new RangeError(`Group ${groupId} has ${group.expected} members; index ${index} is out of range`);
    }
    group.results[index] = { ...result };
    return this.snapshot(group);
  }

  async getGroup(groupId: string): Promise<GroupStatus | null> {
    const group = this.live(groupId);
    return group ? this.snapshot(group) : null;
  }

  async claimChord(groupId: string, callbackId: string, claimTimeout = this.claimTimeout): Promise<boolean> {
    const group = this.live(groupId);
    const now = this.clock.now();
    if (!group || group.chordDispatched) return false;
    if (group.chordClaimedBy !== undefined && (group.chordClaimExpiresAt ?? 0) > now) return false;
    group.chordClaimedBy = callbackId;
    group.chordClaimExpiresAt = now + Math.max(1, claimTimeout);
    return true;
  }

  async releaseChord(groupId: string, callbackId: string): Promise<void> {
    const group = this.live(groupId);
    if (group?.chordClaimedBy !== callbackId || group.chordDispatched) return;
    group.chordClaimedBy = undefined;
    group.chordClaimExpiresAt = undefined;
  }

  async markChordDispatched(groupId: string, callbackId: string): Promise<void> {
    const group = this.live(groupId);
    if (!group) return;
    group.chordClaimedBy = callbackId;
    group.chordDispatched = true;
  }

  async close(): Promise<void> {}

  private live(id: string): GroupEntry | undefined {
    const group = this.groups.get(id);
    if (group && group.expiresAt <= this.clock.now()) {
      this.groups.delete(id);
      return undefined;
    }
    return group;
  }

  private snapshot(group: GroupEntry): GroupStatus {
    let completed = 0;
    let failed = 0;
    for (const r of group.results) {
      if (!r) continue;
      completed++;
      if (r.state !== 'succeeded') failed++;
    }
    return {
      id: group.id,
      expected: group.expected,
      meta: group.meta,
      results: [...group.results],
      completed,
      failed,
      isComplete: completed === group.expected,
      ...(group.chordClaimedBy !== undefined ? { chordClaimedBy: group.chordClaimedBy } : {}),
      ...(group.chordClaimExpiresAt !== undefined && !group.chordDispatched ? { chordClaimExpiresAt: group.chordClaimExpiresAt } : {}),
      ...(group.chordDispatched ? { chordDispatched: true } : {}),
      createdAt: group.createdAt,
      expiresAt: group.expiresAt,
    };
  }
}
