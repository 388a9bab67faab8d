import type { RunState } from '../../core/workflow/run-state.js';
import type { ListWorkflowRunsQuery } from '../../core/workflow/workflow-store.js';
import type { RedisWorkflowContext } from './redis.workflow-context.js';

const SCAN_BATCH = 200;
const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
/** Ms after which an ended run still in the active index counts as an end that stopped half way. */
export const UNFINISHED_END_GRACE = 30_000;

/**
 * The run listing indexes of the Redis workflow store (all on the `{wf}` slot): every run, per
 * workflow and per parent by creation time, the runs not yet ended, and the ended runs by expiry.
 */
export class RedisWorkflowIndex {
  constructor(private readonly ctx: RedisWorkflowContext) {}

  /** Indexes a new run (after the run was written: an unindexed run is only missing from listings). */
  async added(run: RunState): Promise<void> {
    const { connection, keys } = this.ctx;
    await Promise.all([
      connection.command('zadd', keys.runs, run.createdAt, run.id),
      connection.command('zadd', keys.byWorkflow(run.workflow), run.createdAt, run.id),
      connection.command('zadd', keys.active, run.createdAt, run.id),
      ...(run.parentRunId ? [connection.command('zadd', keys.byParent(run.parentRunId), run.createdAt, run.id)] : []),
    ]);
  }

  /** Moves an ended run from the active index to the expiry index. */
  async ended(run: RunState, expiresAt: number | null): Promise<void> {
    const { connection, keys } = this.ctx;
    await Promise.all([
      connection.command('zrem', keys.active, run.id),
      ...(expiresAt !== null ? [connection.command('zadd', keys.expiring, expiresAt, JSON.stringify([run.id, run.workflow, run.parentRunId]))] : []),
    ]);
  }

  /** A rewound run is active again and no longer expires. */
  async revived(run: RunState): Promise<void> {
    const { connection, keys } = this.ctx;
    await Promise.all([
      connection.command('zadd', keys.active, run.createdAt, run.id),
      connection.command('zrem', keys.expiring, JSON.stringify([run.id, run.workflow, run.parentRunId])),
    ]);
  }

  /** Runs matching the filter, newest first; entries of runs that no longer exist are dropped. */
  async list(query: ListWorkflowRunsQuery): Promise<RunState[]> {
    const key = query.parentRunId ? this.ctx.keys.byParent(query.parentRunId) : query.workflow ? this.ctx.keys.byWorkflow(query.workflow) : this.ctx.keys.runs;
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 50;
    const out: RunState[] = [];
    let skipped = 0;
    for (let start = 0; out.length < limit; start += SCAN_BATCH) {
      const ids = await this.ctx.connection.command<string[]>('zrevrange', key, start, start + SCAN_BATCH - 1);
      if (ids.length === 0) break;
      const runs = await this.ctx.readRuns(ids);
      const gone = ids.filter((_, i) => runs[i] === null);
      if (gone.length > 0) await this.ctx.connection.command('zrem', key, ...gone);
      for (const run of runs) {
        if (!run || (query.workflow && run.workflow !== query.workflow) || (query.status && run.status !== query.status)) continue;
        if (query.parentRunId && run.parentRunId !== query.parentRunId) continue;
        if (skipped < offset) skipped++;
        else if (out.length < limit) out.push(run);
      }
      if (gone.length > 0) start -= gone.length;
    }
    return out;
  }

  /**
   * `running` runs whose lease is free or expired at `now`, oldest update first; and the runs that
   * ended more than {@link UNFINISHED_END_GRACE} ms before `now` but are still in the active index
   * (their end stopped before the steps outside their slot).
   */
  async runnable(now: number, limit = 50, offset = 0): Promise<{ runnable: RunState[]; unfinished: RunState[] }> {
    const candidates: RunState[] = [];
    const unfinished: RunState[] = [];
    for (let start = 0; ; start += SCAN_BATCH) {
      const ids = await this.ctx.connection.command<string[]>('zrange', this.ctx.keys.active, start, start + SCAN_BATCH - 1);
      if (ids.length === 0) break;
      const runs = await this.ctx.readRuns(ids);
      const gone = ids.filter((_, i) => runs[i] === null);
      if (gone.length > 0) {
        await this.ctx.connection.command('zrem', this.ctx.keys.active, ...gone);
        start -= gone.length;
      }
      for (const run of runs) {
        if (run && run.status === 'running' && (run.ownerId === null || (run.leaseExpiresAt ?? 0) <= now)) candidates.push(run);
        else if (run && ENDED.has(run.status) && run.updatedAt <= now - UNFINISHED_END_GRACE) unfinished.push(run);
      }
    }
    candidates.sort((a, b) => a.updatedAt - b.updatedAt);
    return { runnable: candidates.slice(offset, offset + limit), unfinished };
  }

  /**
   * Drops the index entries of ended runs whose retention passed at `now` (their keys expire by
   * themselves). Returns how many runs were dropped.
   */
  async sweepExpired(now: number, limit = 1_000): Promise<number> {
    const { connection, keys } = this.ctx;
    const members = await connection.command<string[]>('zrangebyscore', keys.expiring, '-inf', now, 'LIMIT', 0, limit);
    await Promise.all(
      members.map(async (member) => {
        const [id, workflow, parent] = JSON.parse(member) as [string, string, string | null];
        await Promise.all([
          connection.command('zrem', keys.runs, id),
          connection.command('zrem', keys.byWorkflow(workflow), id),
          ...(parent ? [connection.command('zrem', keys.byParent(parent), id)] : []),
        ]);
        if ((await this.ctx.readRun(id)) === null) await Promise.all(keys.run(id).map((key) => connection.command('unlink', key)));
        await connection.command('zrem', keys.expiring, member);
      }),
    );
    return members.length;
  }
}
