import type { WatcherResolution, WorkflowResumeData, WorkflowWatcher } from '../../core/workflow/run-state.js';
import { encodePayload } from './redis.workflow-codec.js';
import type { RedisWorkflowContext } from './redis.workflow-context.js';
import { scripts } from './scripts/index.js';

const DEFAULT_BATCH = 256;
const DEFAULT_DUE_CLAIM_MS = 30_000;
const SCAN_BATCH = 256;

/**
 * Event watchers and due runs of the Redis workflow store. A topic's watchers are a ZSET on the
 * topic's own slot; the run HASH (its slot) is the truth: an index entry is added before the run
 * suspends and removed after the run stopped waiting, and every reader checks the run, so an
 * event never misses a run that registered before it and each watcher resolves once (the
 * `wf-resolve` script changes the run only while it still waits on the topic).
 */
export class RedisWorkflowWaits {
  constructor(private readonly ctx: RedisWorkflowContext) {}

  /** Adds the run to the topic's watchers (before the run suspends). */
  async registering(topic: string, runId: string): Promise<void> {
    const { connection, keys } = this.ctx;
    await Promise.all([connection.command('zadd', keys.watchers(topic), this.ctx.clock.now(), runId), connection.command('sadd', keys.topics, topic)]);
  }

  /** Removes the run from the topic's watchers (after it stopped waiting). */
  async unregistered(topic: string | null, runId: string): Promise<void> {
    if (topic) await this.ctx.connection.command('zrem', this.ctx.keys.watchers(topic), runId);
  }

  /** Makes the run due at `at` in the due index (before the run write that makes it due). */
  async dueAt(runId: string, at: number): Promise<void> {
    await this.ctx.connection.command('zadd', this.ctx.keys.due, at, runId);
  }

  /** Removes the run from the due index (after the run write that made it not due). */
  async notDue(runId: string): Promise<void> {
    await this.ctx.connection.command('zrem', this.ctx.keys.due, runId);
  }

  async resolve(topic: string, payload: unknown, limit = DEFAULT_BATCH): Promise<WatcherResolution[]> {
    const { connection, keys, clock } = this.ctx;
    const key = keys.watchers(topic);
    const body = encodePayload(payload);
    const out: WatcherResolution[] = [];
    let start = 0;
    while (out.length < limit) {
      const ids = await connection.command<string[]>('zrange', key, start, start + Math.min(SCAN_BATCH, limit - out.length) - 1);
      if (ids.length === 0) break;
      const now = clock.now();
      const results = await Promise.all(ids.map((id) => scripts.wfResolve.run<[number, string?, string?, string?]>(connection, keys.run(id), [topic, body, now])));
      const drop: string[] = [];
      const resolved: string[] = [];
      results.forEach((r, i) => {
        const id = ids[i]!;
        if (Number(r[0]) === 2) return;
        drop.push(id);
        if (Number(r[0]) !== 1) return;
        resolved.push(id);
        out.push({ runId: id, workflow: r[1]!, step: r[2]!, topic, resumeData: JSON.parse(r[3]!) as WorkflowResumeData });
      });
      await Promise.all(resolved.map((id) => this.dueAt(id, now)));
      if (drop.length > 0) await connection.command('zrem', key, ...drop);
      start += ids.length - drop.length;
    }
    return out;
  }

  async list(topic: string | undefined, limit = DEFAULT_BATCH): Promise<WorkflowWatcher[]> {
    const topics = topic === undefined ? await this.ctx.connection.command<string[]>('smembers', this.ctx.keys.topics) : [topic];
    const all: WorkflowWatcher[] = [];
    for (const t of topics) {
      for (const runId of await this.waiting(t)) {
        const run = await this.ctx.readRun(runId);
        const s = run?.suspension;
        if (!run || !s || run.waitTopic !== t) continue;
        all.push({
          runId,
          workflow: run.workflow,
          step: s.step,
          topic: t,
          deadline: s.resumeAt,
          ...(s.data !== undefined ? { data: s.data } : {}),
          createdAt: s.suspendedAt,
        });
      }
    }
    all.sort((a, b) => a.createdAt - b.createdAt);
    return all.slice(0, limit);
  }

  /** Ids of the runs suspended on `topic`. */
  async waiting(topic: string): Promise<string[]> {
    const ids = await this.ctx.connection.command<string[]>('zrange', this.ctx.keys.watchers(topic), 0, -1);
    const runs = await this.ctx.readRuns(ids);
    return ids.filter((_, i) => runs[i]?.status === 'suspended' && runs[i]!.waitTopic === topic);
  }

  async due(now: number, limit = DEFAULT_BATCH, claimFor = DEFAULT_DUE_CLAIM_MS): Promise<string[]> {
    const { connection, keys } = this.ctx;
    const claimUntil = now + claimFor;
    const out: string[] = [];
    for (let round = 0; round < 4 && out.length < limit; round++) {
      const ids = await scripts.wfDueClaim.run<string[]>(connection, [keys.due], [now, limit - out.length, claimUntil]);
      if (ids.length === 0) break;
      const runs = await this.ctx.readRuns(ids);
      const fixes: Promise<unknown>[] = [];
      ids.forEach((id, i) => {
        const run = runs[i];
        if (run?.status === 'suspended' && run.resumeAt !== null && run.resumeAt <= now) out.push(id);
        else {
          const score = run?.status === 'suspended' && run.resumeAt !== null ? String(run.resumeAt) : '';
          fixes.push(scripts.wfDueFix.run(connection, [keys.due], [id, claimUntil, score]));
        }
      });
      await Promise.all(fixes);
    }
    return out;
  }
}
