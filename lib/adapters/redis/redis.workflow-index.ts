import type { RunState } from '../../core/workflow/run-state.js';
import type { ListWorkflowRunsQuery } from '../../core/workflow/workflow-store.js';
import type { RedisWorkflowContext } from './redis.workflow-context.js';
import { Batcher } from './redis.batcher.js';
import { scripts } from './scripts/index.js';

const SCAN_BATCH = 200;
/** Most runs (or transitions) one index script call writes. */
const INDEX_BATCH = 256;

/** The ARGV of one wf-index-set transition: run id, active, not due, expiring member and score, member to unexpire. */
type IndexTransition = [string, string, string, string, string | number, string];
const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
/** Ms after which an ended run still in the active index counts as an end that stopped half way. */
export const UNFINISHED_END_GRACE = 30_000;

/**
 * How long a sweep leaves a suspended run alone before it reads it again (ms). A resume moves the
 * run back into reach at once; this bounds how long one whose resume stopped half way (its process
 * died between the resume and the index write) stays out of the sweep's sight.
 */
export const SUSPENDED_RECHECK = 60_000;

/**
 * The run listing indexes of the Redis workflow store (all on the `{wf}` slot): every run, per
 * workflow and per parent by creation time; the runs not yet ended, by when each may be runnable
 * (see `scripts/workflow-index.lua.ts`), so a recovery sweep reads the runs that may be runnable
 * and the ones whose state changed since it last looked, not every live run; the ended runs by
 * expiry. On a standalone server a create, and the end of a run without a parent, write their
 * entries in their own run operation (see `scripts/workflow-ops.lua.ts`); the other index writes
 * (all of them on a Cluster) of the runs created, and of the transitions made, in one turn of the
 * event loop are one script call.
 */
export class RedisWorkflowIndex {
  private readonly adds = new Batcher<RunState>((runs) => this.flushAdds(runs), INDEX_BATCH);
  private readonly sets = new Batcher<IndexTransition>((transitions) => this.flushSets(transitions), INDEX_BATCH);

  constructor(private readonly ctx: RedisWorkflowContext) {}

  /** Indexes a new run (after the run was written: an unindexed run is only missing from listings). */
  added(run: RunState): Promise<void> {
    return this.adds.add(run);
  }

  /**
   * After a write that may have made the run runnable (a resume, a release, a retryable error):
   * it may be runnable from `from` on (its live lease's expiry, or now); `notDue` also takes it
   * out of the due index.
   */
  async mayRun(runId: string, from: number, options: { notDue?: boolean } = {}): Promise<void> {
    await this.set(runId, String(from), options.notDue === true, null, null);
  }

  /** Moves an ended run from the active and due indexes to the expiry index. */
  async ended(run: RunState, expiresAt: number | null): Promise<void> {
    await this.set(run.id, 'end', true, expiresAt === null ? null : [JSON.stringify([run.id, run.workflow, run.parentRunId]), expiresAt], null);
  }

  /** A rewound run is active again (due at `now`) and no longer expires. */
  async revived(run: RunState, now: number): Promise<void> {
    await this.set(run.id, String(now), false, null, JSON.stringify([run.id, run.workflow, run.parentRunId]));
  }

  private set(runId: string, active: string, notDue: boolean, expiring: [member: string, score: number] | null, unexpire: string | null): Promise<void> {
    return this.sets.add([runId, active, notDue ? '1' : '', expiring?.[0] ?? '', expiring?.[1] ?? '', unexpire ?? '']);
  }

  /** One wf-index-add call for the runs created in the same turn of the event loop. */
  private async flushAdds(runs: readonly RunState[]): Promise<void[]> {
    const { keys } = this.ctx;
    const indexKeys = [keys.runs, keys.active, keys.activeVersions];
    const position = new Map<string, number>();
    const at = (key: string) => {
      let i = position.get(key);
      if (i === undefined) {
        i = indexKeys.push(key);
        position.set(key, i);
      }
      return i;
    };
    const argv = runs.flatMap((run) => [run.id, run.createdAt, at(keys.byWorkflow(run.workflow)), run.parentRunId ? at(keys.byParent(run.parentRunId)) : 0]);
    await scripts.wfIndexAdd.run(this.ctx.connection, indexKeys, argv);
    return runs.map(() => undefined);
  }

  /** One wf-index-set call for the transitions of the same turn of the event loop, in order. */
  private async flushSets(transitions: readonly IndexTransition[]): Promise<void[]> {
    const { keys } = this.ctx;
    await scripts.wfIndexSet.run(this.ctx.connection, [keys.active, keys.activeVersions, keys.due, keys.expiring], transitions.flat());
    return transitions.map(() => undefined);
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
   * Up to `offset + limit` `running` runs whose lease is free or expired at `now`, in the order
   * they may have become runnable, returned oldest update first from `offset`; and the runs that
   * ended more than {@link UNFINISHED_END_GRACE} ms before `now` but are still in the active index
   * (their end stopped before the steps outside their slot). Runs found not runnable yet are
   * scored later (a live lease: its expiry; suspended: until a resume; ended just now: after the
   * grace), so later sweeps skip them; entries of runs that are gone are dropped.
   */
  async runnable(now: number, limit = 50, offset = 0): Promise<{ runnable: RunState[]; unfinished: RunState[] }> {
    const { connection, keys } = this.ctx;
    const candidates: RunState[] = [];
    const unfinished: RunState[] = [];
    // NOTE: entries that stay in range (runnable, unfinished, or changed under the sweep) are
    // skipped by offset; deferred ones leave the range.
    let kept = 0;
    while (candidates.length < offset + limit) {
      const [ids, versions] = await scripts.wfActiveScan.run<[string[], string[]]>(connection, [keys.active, keys.activeVersions], [now, kept, SCAN_BATCH]);
      if (ids.length === 0) break;
      const runs = await this.ctx.readRuns(ids);
      const deferrals: Promise<unknown>[] = [];
      runs.forEach((run, i) => {
        if (run && run.status === 'running' && (run.ownerId === null || (run.leaseExpiresAt ?? 0) <= now)) candidates.push(run);
        else if (run && ENDED.has(run.status) && run.updatedAt <= now - UNFINISHED_END_GRACE) unfinished.push(run);
        else {
          const later = !run
            ? ''
            : run.status === 'running'
              ? String(run.leaseExpiresAt)
              : run.status === 'suspended'
                ? String(now + SUSPENDED_RECHECK)
                : String(run.updatedAt + UNFINISHED_END_GRACE);
          deferrals.push(scripts.wfActiveDefer.run(connection, [keys.active, keys.activeVersions], [ids[i]!, versions[i]!, later]));
          return;
        }
        kept++;
      });
      kept += (await Promise.all(deferrals)).filter((changed) => Number(changed) !== 1).length;
      if (ids.length < SCAN_BATCH) break;
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
