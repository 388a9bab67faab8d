import type { SetStatusOptions, TaskStatusUpdate } from '../../core/contracts/result-backend.js';
import type { Envelope } from '../../core/envelope.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { recordArgs } from '../../core/utils/recorded-args.js';

/** A status write, encoded on its own before it joins a batch (so one bad value fails only its write). */
export interface SetOp {
  readonly kind: 'set';
  readonly id: string;
  readonly state: string;
  readonly name: string | null;
  readonly queue: string | null;
  readonly attempt: number;
  /** JSON texts, null when absent. */
  readonly payload: string | null;
  readonly error: string | null;
  readonly meta: string | null;
  readonly ttl: number;
  readonly unlessTerminal: boolean;
  /** Leave a status of this attempt or a later one as it is. */
  readonly unlessAttemptReached: boolean;
  /** Recorded args JSON text, or null. */
  readonly args: string | null;
  /** Size of args too large to record, or null. */
  readonly argsTruncated: number | null;
  /** A delivery to ack in the statement that writes this status (both commit together). */
  readonly ack?: FoldedAck;
  /** For a write merged from several of one id in a batch: those writes, in call order. */
  readonly parts?: readonly SetOp[];
}

/** A delivery acked in the statement that writes its status: its job row and the lease of its claim. */
export interface FoldedAck {
  /** The quoted schema of the `jobs` table holding the row. */
  readonly schema: string;
  /** The job row id. */
  readonly id: string;
  /** The lease token of the claim; a row leased again since keeps its row. */
  readonly lease: number;
}

/** JSON escapes `jsonb` refuses (U+0000, lone surrogates): such args are recorded as truncated. */
const JSONB_REFUSED = /\\u(0000|d[89a-f][0-9a-f]{2})/i;

/**
 * SQLSTATE classes of errors caused by the values of one row (data exceptions such as U+0000 in
 * text or a bad JSON escape, program limits such as an index row too large): retrying the rows of
 * a failed batch one by one isolates the row at fault.
 */
const ROW_ERROR_CLASSES = /^(22|54)/;

/** Whether the database refused a statement for the values of a row (see the classes above). */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.length === 5 && ROW_ERROR_CLASSES.test(code);
}

/** The guards of a status write (see {@link SetStatusOptions}). */
export type StatusWriteGuard = Pick<SetStatusOptions, 'unlessTerminal' | 'unlessAttemptReached'>;

/** The guards of a write as one key (`''`, `t`, `a` or `ta`): writes of one key share an upsert statement. */
export function guardKey(guard: StatusWriteGuard): '' | 't' | 'a' | 'ta' {
  return `${guard.unlessTerminal ? 't' : ''}${guard.unlessAttemptReached ? 'a' : ''}` as '' | 't' | 'a' | 'ta';
}

/**
 * Encodes one status write for the upsert statement; a value JSON cannot carry (a BigInt, a
 * cycle, nesting too deep) fails this write only.
 * @throws StatusNotStorableError naming the task id
 */
export function encodeStatusWrite(id: string, update: TaskStatusUpdate, ttl: number, guard: StatusWriteGuard, argsLimit = 0): SetOp {
  const recorded = recordArgs(update.args, argsLimit);
  const refused = recorded !== undefined && 'json' in recorded && JSONB_REFUSED.test(recorded.json);
  try {
    return {
      kind: 'set',
      id,
      state: update.state,
      name: update.name ?? null,
      queue: update.queue ?? null,
      attempt: update.attempt,
      payload: update.payload === undefined ? null : (JSON.stringify(update.payload) ?? null),
      error: update.error === undefined ? null : JSON.stringify(update.error),
      meta: update.meta === undefined ? null : JSON.stringify(update.meta),
      ttl,
      unlessTerminal: guard.unlessTerminal === true,
      unlessAttemptReached: guard.unlessAttemptReached === true,
      args: recorded && 'json' in recorded && !refused ? recorded.json : null,
      argsTruncated: recorded && 'truncated' in recorded ? recorded.truncated : refused ? 0 : null,
    };
  } catch (error) {
    throw new StatusNotStorableError(id, 'postgres', error);
  }
}

/** An envelope encoded for `publishQueued`: its JSON and what its `queued` status needs beyond it. */
export interface QueuedEnvelope {
  readonly id: string;
  /** The envelope as stored. */
  readonly json: string;
  /** The fields `publishQueued` reads, as JSON, when `json` holds an escape Postgres text refuses; else null. */
  readonly fields: string | null;
  /** TTL of the status, ms (not negative). */
  readonly ttl: number;
  /** Size of args too large (or unfit) to record, or null: recorded from the envelope when recording is on. */
  readonly argsTruncated: number | null;
}

/**
 * Encodes an envelope and its `queued` status for `publishQueued`; an envelope JSON cannot carry
 * (a BigInt, a cycle) fails this publish only, before anything is sent.
 * @throws StatusNotStorableError naming the task id
 */
export function encodeQueuedEnvelope(envelope: Envelope, ttl: number, argsLimit: number): QueuedEnvelope {
  const recorded = recordArgs(envelope.args, argsLimit);
  const refused = recorded !== undefined && 'json' in recorded && JSONB_REFUSED.test(recorded.json);
  const argsTruncated = recorded && 'truncated' in recorded ? recorded.truncated : refused ? 0 : null;
  let json: string;
  let fields: string | null = null;
  try {
    json = JSON.stringify(envelope);
    if (JSONB_REFUSED.test(json)) {
      const { id, name, queue, priority, attempt, notBefore, visibilityTimeout, meta, args } = envelope;
      fields = JSON.stringify({ id, name, queue, priority, attempt, notBefore, visibilityTimeout, meta, args: recorded && 'json' in recorded && !refused ? args : undefined });
    }
  } catch (error) {
    throw new StatusNotStorableError(envelope.id, 'postgres', error);
  }
  return { id: envelope.id, json, fields, ttl: Math.max(0, ttl), argsTruncated };
}

/** The columns of the upsert statement ($1..$11) for `ops`. */
export function upsertParams(ops: readonly SetOp[]): unknown[] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
  for (const op of ops) {
    columns[0]!.push(op.id);
    columns[1]!.push(op.state);
    columns[2]!.push(op.name);
    columns[3]!.push(op.queue);
    columns[4]!.push(op.attempt);
    columns[5]!.push(op.payload);
    columns[6]!.push(op.error);
    columns[7]!.push(op.meta);
    columns[8]!.push(Math.max(0, op.ttl));
    columns[9]!.push(op.args);
    columns[10]!.push(op.argsTruncated);
  }
  return columns;
}
