import { type CreateGroupResult, DEFAULT_CHORD_CLAIM_TIMEOUT_MS, type GroupMemberResult, type GroupStatus, type GroupStore } from '../../core/canvas/group-store.js';
import { type RedisConnection, RedisConnection as Connection, type RedisConnectionOptions, type SharedRedisConnection } from './redis.connection.js';
import { RedisKeys } from './redis.keys.js';
import { resolveRedisUrl } from './redis.url.js';
import { scripts } from './scripts/index.js';

/** Options of {@link RedisGroupStore}. */
export interface RedisGroupStoreOptions extends RedisConnectionOptions {
  /** TTL in ms of groups created without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** ms a chord claim holds before another attempt may take it over. @default 30000 */
  readonly chordClaimTimeout?: number;
}

/**
 * A {@link GroupStore} on Redis: a HASH per group and a HASH of member results, both under the
 * group id's hash tag (`<prefix>:group:{<id>}`), updated by Lua scripts (`scripts/group.lua.ts`)
 * so adds and the chord claim are atomic across workers.
 *
 * @example
 * const groupStore = await RedisGroupStore.connect('redis://127.0.0.1:6379');
 * const worker = new Worker({ broker, backend, registry, groupStore });
 */
export class RedisGroupStore implements GroupStore {
  readonly name = 'redis';
  private readonly keys: RedisKeys;
  private readonly defaultTtl: number;
  private readonly claimTimeout: number;
  private closing: Promise<void> | undefined;

  /** The command connection (shared with other adapters on the same server). */
  readonly connection: RedisConnection;

  private constructor(
    private readonly shared: SharedRedisConnection,
    options: RedisGroupStoreOptions,
  ) {
    this.connection = shared.connection;
    this.keys = new RedisKeys(options.prefix ?? 'stem');
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
    this.claimTimeout = options.chordClaimTimeout ?? DEFAULT_CHORD_CLAIM_TIMEOUT_MS;
  }

  /**
   * Connects to Redis and returns a group store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisGroupStoreOptions = {}): Promise<RedisGroupStore> {
    const target = resolveRedisUrl(url, options);
    return new RedisGroupStore(await Connection.share(target.url, target.options), target.options);
  }

  async initGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<void> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    await scripts.groupInit.run(this.connection, this.groupKeys(id), [expected, JSON.stringify(meta), Date.now(), Math.max(1, Math.ceil(ttl ?? this.defaultTtl))]);
  }

  async createGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<CreateGroupResult> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    const [created, raw] = await scripts.groupCreate.run<[number, string[]]>(this.connection, this.groupKeys(id), [
      expected,
      JSON.stringify(meta),
      Date.now(),
      Math.max(1, Math.ceil(ttl ?? this.defaultTtl)),
    ]);
    return { created: Number(created) === 1, group: this.parse(id, raw) };
  }

  async addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null> {
    try {
      const raw = await scripts.groupAdd.run<string[] | null>(this.connection, this.groupKeys(groupId), [index, JSON.stringify(result)]);
      return raw ? this.parse(groupId, raw) : null;
    } catch (error) {
      if (String((error as Error)?.message).includes('RANGE')) throw new RangeError(`Group ${groupId}: index ${index} is out of range`, { cause: error });
      throw error;
    }
  }

  async getGroup(groupId: string): Promise<GroupStatus | null> {
    const raw = await scripts.groupGet.run<string[] | null>(this.connection, this.groupKeys(groupId), []);
    return raw ? this.parse(groupId, raw) : null;
  }

  async claimChord(groupId: string, callbackId: string, claimTimeout = this.claimTimeout): Promise<boolean> {
    return Number(await scripts.chordClaim.run(this.connection, [this.keys.group(groupId)], [callbackId, Date.now(), Math.max(1, Math.ceil(claimTimeout))])) === 1;
  }

  async markChordDispatched(groupId: string, callbackId: string): Promise<void> {
    await scripts.chordDispatched.run(this.connection, [this.keys.group(groupId)], [callbackId]);
  }

  async releaseChord(groupId: string, callbackId: string): Promise<void> {
    await scripts.chordRelease.run(this.connection, [this.keys.group(groupId)], [callbackId]);
  }

  /** Gives the shared connection back. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shared.release();
    return this.closing;
  }

  private groupKeys(id: string): [string, string] {
    return [this.keys.group(id), this.keys.groupResults(id)];
  }

  private parse(id: string, raw: readonly string[]): GroupStatus {
    const expected = Number(raw[0]);
    const results: (GroupMemberResult | null)[] = new Array(expected).fill(null);
    for (let i = 7; i + 1 < raw.length; i += 2) results[Number(raw[i])] = JSON.parse(raw[i + 1]!) as GroupMemberResult;
    let completed = 0;
    let failed = 0;
    for (const r of results) {
      if (!r) continue;
      completed++;
      if (r.state !== 'succeeded') failed++;
    }
    return {
      id,
      expected,
      meta: JSON.parse(raw[1] ?? '{}') as Record<string, unknown>,
      results,
      completed,
      failed,
      isComplete: completed === expected,
      ...(raw[4] ? { chordClaimedBy: raw[4] } : {}),
      ...(raw[4] && raw[5] && raw[6] !== '1' ? { chordClaimExpiresAt: Number(raw[5]) } : {}),
      ...(raw[6] === '1' ? { chordDispatched: true } : {}),
      createdAt: Number(raw[2]),
      expiresAt: Number(raw[3]),
    };
  }
}
