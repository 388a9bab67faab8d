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
 * (if any) on the jobs of one schema.
 */
export class StatusGroup {
  private ops: SetOp[] = [];
  private indexes: number[] = [];
  private readonly ids = new Set<string>();
  private ackSchema: string | undefined;

  /** Whether `op` can join the writes gathered so far. */
  accepts(op: SetOp): boolean {
    const first = this.ops[0];
    if (!first) return true;
    if (this.ids.has(op.id) || guardKey(first) !== guardKey(op)) return false;
    return !op.ack || this.ackSchema === undefined || this.ackSchema === op.ack.schema;
  }

  /** Adds `op`, the `index`-th write of its batch. */
  add(op: SetOp, index: number): void {
    this.ops.push(op);
    this.indexes.push(index);
    this.ids.add(op.id);
    this.ackSchema ??= op.ack?.schema;
  }

  /** The writes gathered, with their batch indexes; the group is empty afterwards. */
  take(): { readonly ops: SetOp[]; readonly indexes: number[] } {
    const taken = { ops: this.ops, indexes: this.indexes };
    this.ops = [];
    this.indexes = [];
    this.ids.clear();
    this.ackSchema = undefined;
    return taken;
  }
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

  /** Writes `ops` (one {@link StatusGroup}); one result per write, a failure for a write not stored. */
  async write(ops: readonly SetOp[]): Promise<(void | BatchItemFailure)[]> {
    const results = new Array<void | BatchItemFailure>(ops.length);
    try {
      await this.send(ops);
      return results;
    } catch (error) {
      if (!isRowError(error)) throw error;
      if (ops.length === 1) {
        results[0] = new BatchItemFailure(new StatusNotStorableError(ops[0]!.id, this.backendName, error));
        return results;
      }
    }
    for (const [i, op] of ops.entries()) {
      try {
        await this.send([op]);
      } catch (error) {
        if (!isRowError(error)) throw error;
        results[i] = new BatchItemFailure(new StatusNotStorableError(op.id, this.backendName, error));
      }
    }
    return results;
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
