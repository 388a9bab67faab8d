import type { ResultBackend, SetStatusOptions, TaskStatusUpdate } from '../../core/contracts/result-backend.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { recordArgs } from '../../core/utils/recorded-args.js';
import { errorField, metaPairs, payloadField } from './redis-status.codec.js';
import type { RedisConnection } from './redis.connection.js';
import type { RedisKeys } from './redis.keys.js';

/** Field separator of packed status writes (the ASCII unit separator; JSON escapes it). */
const SEP = '\x1f';

/** One status write, encoded on its own before it joins a batch (so one bad value fails only its write). */
export interface StatusWrite {
  readonly id: string;
  readonly ttl: number;
  readonly state: string;
  readonly attempt: number;
  readonly name: string;
  readonly queue: string;
  /** Payload JSON ('' clears). */
  readonly payload: string;
  /** Error JSON ('' clears). */
  readonly error: string;
  /** `m:<key>`/JSON pairs, then the recorded-args pairs. */
  readonly meta: readonly string[];
  /** Leave a terminal status as it is. */
  readonly unlessTerminal: boolean;
  /** Leave a status of this attempt or a later one as it is. */
  readonly unlessAttemptReached: boolean;
  /** A delivery to ack in the same step, once this status is written. */
  readonly ack?: FoldedAck;
}

/** A delivery acked in the script that writes its status: its stream, its leases ZSET and its lease member. */
export interface FoldedAck {
  readonly stream: string;
  readonly leases: string;
  /** Lease member "<priority>:<entry id>". */
  readonly member: string;
  /** Acks the delivery on its own, after its status was written on its own. */
  readonly ackAlone: () => Promise<void>;
}

/** The guard argument of the status scripts ('' none, '1' unless terminal, 'a' unless the attempt was reached, '1a' both). */
export function writeGuard(w: StatusWrite): string {
  return `${w.unlessTerminal ? '1' : ''}${w.unlessAttemptReached ? 'a' : ''}`;
}

/** Hash fields of the recorded arguments (no `m:` prefix, so they are not meta). */
export const ARGS_FIELD = 'args';
/** Hash field holding the byte size of arguments too large to record. */
export const ARGS_TRUNCATED_FIELD = 'argsTruncated';

/** Field/value pairs recording `args` within `argsLimit` bytes (none when nothing is recorded). */
function argsPairs(args: unknown, argsLimit: number): string[] {
  const recorded = recordArgs(args, argsLimit);
  if (!recorded) return [];
  return 'json' in recorded ? [ARGS_FIELD, recorded.json, ARGS_TRUNCATED_FIELD, ''] : [ARGS_FIELD, '', ARGS_TRUNCATED_FIELD, String(recorded.truncated)];
}

/**
 * Encodes one status write; a value JSON cannot carry fails this write only (arguments never do:
 * they are recorded as truncated).
 * @throws StatusNotStorableError naming the task id
 */
export function encodeStatusWrite(id: string, update: TaskStatusUpdate, options: SetStatusOptions, defaultTtl: number, argsLimit = 0): StatusWrite {
  try {
    return {
      id,
      ttl: Math.max(1, Math.ceil(options.ttl ?? defaultTtl)),
      state: update.state,
      attempt: update.attempt,
      name: update.name ?? '',
      queue: update.queue ?? '',
      payload: payloadField(update),
      error: errorField(update.error),
      meta: update.args === undefined ? metaPairs(update.meta) : [...metaPairs(update.meta), ...argsPairs(update.args, argsLimit)],
      unlessTerminal: options.unlessTerminal === true,
      unlessAttemptReached: options.unlessAttemptReached === true,
    };
  } catch (error) {
    throw new StatusNotStorableError(id, 'redis', error);
  }
}

/** Whether a write can be packed with the unit separator (JSON never holds one; names, ids and meta keys might). */
export function packable(w: StatusWrite): boolean {
  if (w.id.includes(SEP) || w.name.includes(SEP) || w.queue.includes(SEP)) return false;
  for (let i = 0; i < w.meta.length; i += 2) if (w.meta[i]!.includes(SEP)) return false;
  return true;
}

/** One status as one script argument, in the layout `scripts/status.lua.ts` (status-set-many) documents. */
export function packStatusWrite(w: StatusWrite): string {
  let packed = `${w.id}${SEP}${w.ttl}${SEP}${writeGuard(w)}${SEP}${w.state}${SEP}${w.attempt}${SEP}${w.name}${SEP}${w.queue}${SEP}${w.payload}${SEP}${w.error}`;
  for (let i = 0; i < w.meta.length; i += 2) packed += `${SEP}${w.meta[i]}${SEP}${w.meta[i + 1]}`;
  return packed;
}

/** What a broker needs to write a result backend's statuses inside its own scripts. */
export interface RedisStatusTarget {
  /** The backend's command connection; folding needs the broker on the very same one. */
  readonly connection: RedisConnection;
  readonly keys: RedisKeys;
  readonly defaultTtl: number;
  /** Bytes of argument JSON recorded with the `queued` status (0: none). */
  readonly argsLimit: number;
  /** The backend's own status write (for statuses that cannot be packed). */
  set(id: string, update: TaskStatusUpdate, options: SetStatusOptions): Promise<void>;
  /** Writes a status in the backend's next batch and acks `ack` right after it, in the same script. */
  setAndAck(id: string, update: TaskStatusUpdate, options: SetStatusOptions, ack: FoldedAck): Promise<void>;
  /** Prune horizon for the listing indexes ('' most of the time), as the backend's own batches use it. */
  pruneHorizon(now: number): number | '';
}

const targets = new WeakMap<ResultBackend, RedisStatusTarget>();

/** Records how `backend` stores statuses, so a broker on the same connection can write them in its scripts. */
export function registerStatusTarget(backend: ResultBackend, target: RedisStatusTarget): void {
  targets.set(backend, target);
}

/** How `backend` stores statuses, when it is a Redis result backend. */
export function statusTargetOf(backend: ResultBackend): RedisStatusTarget | undefined {
  return targets.get(backend);
}

/** ARGV[1..5] of the packed status scripts (status-set-many, publish-queued). */
export function packedStatusHead(target: RedisStatusTarget, now: number): (string | number)[] {
  return [now, target.keys.statusPrefix, target.keys.statusChannelPrefix, target.keys.statusIndexQueuePrefix, target.pruneHorizon(now)];
}
