import type pg from 'pg';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { BatchItemFailure } from './postgres.batcher.js';
import { type PostgresContext, retryTransient } from './postgres.connection.js';
import { prepared } from './postgres.statements.js';
import { guardKey, isRowError, type SetOp, upsertParams } from './postgres.status-write.js';
import { upsertStatusesAndAck } from './sql/results-ack.sql.js';
import { upsertStatuses } from './sql/results.sql.js';

/** The guards of a write as one key (see {@link guardKey}). */
type GuardKey = ReturnType<typeof guardKey>;

/**
 * Consecutive status writes that go out as one statement: distinct ids, one guard key, and acks
 * (if any) on the jobs of one schema. A later unguarded write of an id already in the group is
 * merged into that id's write (a `running` status and the `succeeded` that follows it in the same
 * batch, for a short task): the row ends as the two writes one after the other would leave it, in
 * one statement instead of two, and watchers are told of the second only.
 */
export class StatusGroup {
  private ops: SetOp[] = [];
  private indexes: number[][] = [];
  private readonly ids = new Map<string, number>();
  private ackSchema: string | undefined;

  /** Whether `op` can join the writes gathered so far. */
  accepts(op: SetOp): boolean {
    const first = this.ops[0];
    if (!first) return true;
    if (op.ack && this.ackSchema !== undefined && this.ackSchema !== op.ack.schema) return false;
    const same = this.ids.get(op.id);
    if (same !== undefined) return mergeable(this.ops[same]!, op);
    return guardKey(first) === guardKey(op);
  }

  /** Adds `op`, the `index`-th write of its batch. */
  add(op: SetOp, index: number): void {
    const same = this.ids.get(op.id);
    if (same !== undefined) {
      this.ops[same] = merged(this.ops[same]!, op);
      this.indexes[same]!.push(index);
    } else {
      this.ids.set(op.id, this.ops.length);
      this.ops.push(op);
      this.indexes.push([index]);
    }
    this.ackSchema ??= op.ack?.schema;
  }

  /** The writes gathered, each with the batch indexes it answers for; the group is empty afterwards. */
  take(): { readonly ops: SetOp[]; readonly indexes: number[][] } {
    const taken = { ops: this.ops, indexes: this.indexes };
    this.ops = [];
    this.indexes = [];
    this.ids.clear();
    this.ackSchema = undefined;
    return taken;
  }
}

/** Whether `later` can be merged into `earlier` (same id): neither is guarded, and at most one acks, on the group's jobs. */
function mergeable(earlier: SetOp, later: SetOp): boolean {
  if (earlier.unlessTerminal || earlier.unlessAttemptReached || later.unlessTerminal || later.unlessAttemptReached) return false;
  return !(earlier.ack && later.ack);
}

/**
 * One write leaving a row as `earlier` then `later` would (see `upsertStatusesCte`): the state,
 * attempt, payload, error, TTL and ack of the later, the name and queue of the later unless it
 * has none, meta merged key by key (later wins), and the recorded args of the later when it has
 * some. `parts` keeps the writes it stands for, sent one by one should the database refuse it.
 */
function merged(earlier: SetOp, later: SetOp): SetOp {
  const laterArgs = later.args !== null || later.argsTruncated !== null;
  const ack = later.ack ?? earlier.ack;
  return {
    ...later,
    name: later.name ?? earlier.name,
    queue: later.queue ?? earlier.queue,
    meta: mergeMeta(earlier.meta, later.meta),
    args: laterArgs ? later.args : earlier.args,
    argsTruncated: laterArgs ? later.argsTruncated : earlier.argsTruncated,
    ...(ack ? { ack } : {}),
    parts: [...(earlier.parts ?? [earlier]), ...(later.parts ?? [later])],
  };
}

/** Two meta JSON object texts merged key by key as `jsonb ||` merges them (the later wins). */
function mergeMeta(earlier: string | null, later: string | null): string | null {
  if (earlier === null || earlier === '{}') return later;
  if (later === null || later === '{}') return earlier;
  return JSON.stringify({ ...(JSON.parse(earlier) as object), ...(JSON.parse(later) as object) });
}

/**
 * Writes a {@link StatusGroup} in one statement: the status upsert, and when writes carry acks,
 * the same upsert with the deletion of the acked job rows (`sql/results-ack.sql.ts`), so a status
 * and its ack commit together. When the database refuses the statement for the values of a row,
 * the writes go one by one (each with its own ack): the one at fault fails with a
 * {@link StatusNotStorableError} and its delivery stays unacked; the others are stored (and
 * acked). A lost connection (after the transient retries) fails the whole group.
 */
export class StatusSetWriter {
  private readonly upserts: Record<GuardKey, (values: unknown[]) => pg.QueryConfig>;
  /** Folded statements by jobs schema and guard key, prepared on first use. */
  private readonly folded = new Map<string, (values: unknown[]) => pg.QueryConfig>();

  constructor(
    private readonly ctx: PostgresContext,
    private readonly backendName: string,
  ) {
    const { s, channels } = ctx;
    this.upserts = {
      '': prepared(upsertStatuses(s, channels.results)),
      t: prepared(upsertStatuses(s, channels.results, { unlessTerminal: true })),
      a: prepared(upsertStatuses(s, channels.results, { unlessAttemptReached: true })),
      ta: prepared(upsertStatuses(s, channels.results, { unlessTerminal: true, unlessAttemptReached: true })),
    };
  }

  /** The upsert statement of `key` (no acks). */
  upsert(key: GuardKey): (values: unknown[]) => pg.QueryConfig {
    return this.upserts[key];
  }

  /**
   * Writes `ops` (one {@link StatusGroup}): per write, one result for each write it stands for
   * (several for a merged one, see {@link SetOp.parts}), a failure for a write not stored.
   */
  async write(ops: readonly SetOp[]): Promise<(void | BatchItemFailure)[][]> {
    const stored = () => ops.map((op) => new Array<void | BatchItemFailure>(op.parts?.length ?? 1));
    try {
      await this.send(ops);
      return stored();
    } catch (error) {
      if (!isRowError(error)) throw error;
      if (ops.length === 1 && !ops[0]!.parts) return [[this.refused(ops[0]!, error)]];
    }
    // NOTE: one by one, and a merged write as the writes it stands for, in their order, so only
    // the write at fault fails.
    const results: (void | BatchItemFailure)[][] = [];
    for (const op of ops) {
      const own: (void | BatchItemFailure)[] = [];
      for (const part of op.parts ?? [op]) {
        try {
          await this.send([part]);
          own.push(undefined);
        } catch (error) {
          if (!isRowError(error)) throw error;
          own.push(this.refused(part, error));
        }
      }
      results.push(own);
    }
    return results;
  }

  private refused(op: SetOp, error: unknown): BatchItemFailure {
    return new BatchItemFailure(new StatusNotStorableError(op.id, this.backendName, error));
  }

  /** One statement for `ops`: both the upsert and the deletion are idempotent, so a transient failure is retried. */
  private send(ops: readonly SetOp[]): Promise<unknown> {
    const key = guardKey(ops[0]!);
    const params = upsertParams(ops);
    const acked = ops.filter((op) => op.ack);
    if (acked.length === 0) return retryTransient(() => this.ctx.pool.query(this.upserts[key](params)));
    params.push(
      acked.map((op) => op.ack!.id),
      acked.map((op) => op.ack!.lease),
    );
    const statement = this.foldedStatement(acked[0]!.ack!.schema, key);
    return retryTransient(() => this.ctx.pool.query(statement(params)));
  }

  private foldedStatement(jobs: string, key: GuardKey): (values: unknown[]) => pg.QueryConfig {
    const name = `${jobs}\u0000${key}`;
    let statement = this.folded.get(name);
    if (!statement) {
      const { s, channels } = this.ctx;
      statement = prepared(upsertStatusesAndAck(s, channels.results, jobs, { unlessTerminal: key.includes('t'), unlessAttemptReached: key.includes('a') }));
      this.folded.set(name, statement);
    }
    return statement;
  }
}
