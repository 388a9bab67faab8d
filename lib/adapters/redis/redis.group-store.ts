import type { GroupMemberResult, GroupStatus, GroupStore } from '../../core/canvas/group-store.js';
import { RedisConnection, type RedisConnectionOptions } from './redis.connection.js';
import { RedisScript } from './redis.script.js';

/** Options of {@link RedisGroupStore}. */
export interface RedisGroupStoreOptions extends RedisConnectionOptions {
  /** TTL in ms of groups created without one. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
}

/**
 * group-init: creates or resets a group.
 *
 * KEYS[1] group HASH, KEYS[2] results HASH
 * ARGV[1] expected, ARGV[2] meta JSON, ARGV[3] createdAt ms, ARGV[4] ttl ms
 * Returns 1.
 */
const GROUP_INIT_LUA = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'expected', ARGV[1], 'meta', ARGV[2], 'createdAt', ARGV[3], 'expiresAt', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** Shared Lua: the group snapshot `{expected, meta, createdAt, expiresAt, claimedBy, idx1, json1, ...}`. */
const SNAPSHOT_LUA = `
local function snapshot()
  local head = redis.call('HMGET', KEYS[1], 'expected', 'meta', 'createdAt', 'expiresAt', 'claimedBy')
  local out = { head[1], head[2], head[3], head[4], head[5] or '' }
  local results = redis.call('HGETALL', KEYS[2])
  for i = 1, #results do out[#out + 1] = results[i] end
  return out
end
`;

/**
 * group-add: records member ARGV[1] of a group and returns the snapshot.
 *
 * KEYS[1] group HASH, KEYS[2] results HASH
 * ARGV[1] index, ARGV[2] result JSON
 * Returns the snapshot, nil when the group is missing or expired, or an error `RANGE` when the
 * index is outside the group.
 */
const GROUP_ADD_LUA = `${SNAPSHOT_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local expected = tonumber(redis.call('HGET', KEYS[1], 'expected'))
local index = tonumber(ARGV[1])
if index == nil or index < 0 or index >= expected or index % 1 ~= 0 then return redis.error_reply('RANGE') end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return snapshot()
`;

/**
 * group-get: the snapshot, or nil when the group is missing or expired.
 *
 * KEYS[1] group HASH, KEYS[2] results HASH
 */
const GROUP_GET_LUA = `${SNAPSHOT_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
return snapshot()
`;

/**
 * chord-claim: the first caller sets `claimedBy`.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1 for the winner, 0 otherwise (and for missing groups).
 */
const CHORD_CLAIM_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'claimedBy', ARGV[1])
`;

/**
 * chord-release: clears `claimedBy` if this callback holds it.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1 when released, 0 otherwise.
 */
const CHORD_RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'claimedBy') ~= ARGV[1] then return 0 end
return redis.call('HDEL', KEYS[1], 'claimedBy')
`;

const scripts = {
  init: new RedisScript('group-init', GROUP_INIT_LUA),
  add: new RedisScript('group-add', GROUP_ADD_LUA),
  get: new RedisScript('group-get', GROUP_GET_LUA),
  claim: new RedisScript('chord-claim', CHORD_CLAIM_LUA),
  release: new RedisScript('chord-release', CHORD_RELEASE_LUA),
};

/**
 * A {@link GroupStore} on Redis: a HASH per group and a HASH of member results, both under the
 * group id's hash tag (`<prefix>:group:{<id>}`), updated by Lua scripts so adds and the chord
 * claim are atomic across workers.
 *
 * @example
 * const groupStore = await RedisGroupStore.connect('redis://127.0.0.1:6379');
 * const worker = new Worker({ broker, backend, registry, groupStore });
 */
export class RedisGroupStore implements GroupStore {
  readonly name = 'redis';
  private readonly prefix: string;
  private readonly defaultTtl: number;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The command connection. */
    readonly connection: RedisConnection,
    options: RedisGroupStoreOptions,
  ) {
    this.prefix = options.prefix ?? 'stem';
    this.defaultTtl = options.defaultTtl ?? 86_400_000;
  }

  /**
   * Connects to Redis and returns a group store.
   * @throws RedisConnectionError when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisGroupStoreOptions = {}): Promise<RedisGroupStore> {
    return new RedisGroupStore(await RedisConnection.open(url, options), options);
  }

  async initGroup(id: string, expected: number, meta: Record<string, unknown> = {}, ttl?: number): Promise<void> {
    if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Group ${id}: expected must be a non-negative integer, got ${expected}`);
    await scripts.init.run(this.connection, this.keys(id), [expected, JSON.stringify(meta), Date.now(), Math.max(1, Math.ceil(ttl ?? this.defaultTtl))]);
  }

  async addResult(groupId: string, index: number, result: GroupMemberResult): Promise<GroupStatus | null> {
    try {
      const raw = await scripts.add.run<string[] | null>(this.connection, this.keys(groupId), [index, JSON.stringify(result)]);
      return raw ? this.parse(groupId, raw) : null;
    } catch (error) {
      if (String((error as Error)?.message).includes('RANGE')) throw new RangeError(`Group ${groupId}: index ${index} is out of range`);
      throw error;
    }
  }

  async getGroup(groupId: string): Promise<GroupStatus | null> {
    const raw = await scripts.get.run<string[] | null>(this.connection, this.keys(groupId), []);
    return raw ? this.parse(groupId, raw) : null;
  }

  async claimChord(groupId: string, callbackId: string): Promise<boolean> {
    return Number(await scripts.claim.run(this.connection, [this.keys(groupId)[0]!], [callbackId])) === 1;
  }

  async releaseChord(groupId: string, callbackId: string): Promise<void> {
    await scripts.release.run(this.connection, [this.keys(groupId)[0]!], [callbackId]);
  }

  /** Closes the connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.connection.quit();
    return this.closing;
  }

  private keys(id: string): [string, string] {
    const base = `${this.prefix}:group:{${id}}`;
    return [base, `${base}:results`];
  }

  private parse(id: string, raw: readonly string[]): GroupStatus {
    const expected = Number(raw[0]);
    const results: (GroupMemberResult | null)[] = new Array(expected).fill(null);
    for (let i = 5; i + 1 < raw.length; i += 2) results[Number(raw[i])] = JSON.parse(raw[i + 1]!) as GroupMemberResult;
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
      createdAt: Number(raw[2]),
      expiresAt: Number(raw[3]),
    };
  }
}
