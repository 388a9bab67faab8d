import type { RedisConnection } from './redis.connection.js';
import type { RedisWorkflowKeys } from './redis.workflow-keys.js';
import type { RedisScript } from './redis.script.js';
import { scripts } from './scripts/index.js';

/** The run operations that {@link RedisRunOps} coalesces (see `scripts/workflow-ops.lua.ts`). */
export type RunOp = 'create' | 'get' | 'save-step' | 'claim-load' | 'end';

const SINGLE: Record<RunOp, RedisScript> = {
  create: scripts.wfCreate,
  get: scripts.wfGet,
  'save-step': scripts.wfSaveStep,
  'claim-load': scripts.wfClaimLoad,
  end: scripts.wfEnd,
};

/**
 * How JSON.stringify starts a lone surrogate (`\udXXX`); it writes no other escape that starts so
 * (a text that only looks like one, an escaped backslash before `ud`, merely goes the slow way).
 */
const LONE_SURROGATE = '\\ud';

/**
 * Most operations of one wf-batch call (a longer queue goes out as several calls, each handed
 * to the connection as soon as it is full). Small calls keep the server and this process working side by side: the
 * server runs the first call while the rest are built, and its reply is handled while it runs
 * the next. One call of everything a tick asked for made each side wait for the other: at
 * concurrency 50, 2,729 workflows/s (median of 5) against 3,536/s with calls of 16.
 */
const MAX_BATCH = 16;

interface Pending {
  readonly runId: string;
  readonly op: RunOp;
  readonly args: readonly (string | number)[];
  /** Resolve with `[reply, indexed]` instead of the reply alone. */
  readonly tells: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends the hot run operations of the Redis workflow store (create, read, checkpoint, claim with
 * load, end). On a standalone server the operations asked for in the same tick (the runs a
 * fetched batch advances, a burst of starts) go out as one `wf-batch` call, each still atomic on
 * its own run and failing alone, and a create or an end writes the run indexes in the same call
 * (see `scripts/workflow-ops.lua.ts`); on a Cluster (whose runs and indexes live on different
 * slots) every operation is its own script call on the run's slot, and the store writes the
 * indexes after it.
 */
export class RedisRunOps {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisWorkflowKeys,
  ) {}

  /** Runs `op` on run `runId` with `args`; resolves with the script's reply. */
  run<T>(op: RunOp, runId: string, args: readonly (string | number)[]): Promise<T> {
    if (this.connection.isCluster) return SINGLE[op].run<T>(this.connection, this.keys.run(runId), args);
    return this.queue<T>(op, runId, args, false);
  }

  /**
   * {@link run} for a create or an end, with whether the call wrote the run indexes too (a create:
   * the new run's entries; an end of a run without a parent: its move to the expiring index).
   * When it did not, they are the caller's to write.
   */
  runIndexing<T>(op: 'create' | 'end', runId: string, args: readonly (string | number)[]): Promise<[reply: T, indexed: boolean]> {
    if (this.connection.isCluster) return SINGLE[op].run<T>(this.connection, this.keys.run(runId), args).then((reply) => [reply, false]);
    return this.queue<[T, boolean]>(op, runId, args, true);
  }

  private queue<T>(op: RunOp, runId: string, args: readonly (string | number)[], tells: boolean): Promise<T> {
    this.keys.checkRunId(runId);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ runId, op, args, tells, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        // NOTE: a tick, not a turn of the event loop: the replies of one read from the socket
        // resume their callers in the same tick, so their next operations meet here.
        process.nextTick(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const ops = batch.map((item) => [item.op, item.runId, item.args.map(String)]);
    const text = JSON.stringify(ops);
    // NOTE: JSON.stringify escapes a lone surrogate (text that is not UTF-8), which Redis's cjson
    // refuses, and that would fail the whole batch: such a batch goes out one script per
    // operation (which leaves the index writes to the store).
    if (text.includes(LONE_SURROGATE)) {
      for (const item of batch) {
        const sent = SINGLE[item.op].run(this.connection, this.keys.run(item.runId), item.args);
        (item.tells ? sent.then((reply) => [reply, false]) : sent).then(item.resolve, item.reject);
      }
      return;
    }
    // NOTE: a lone operation goes out as a batch of one too, so that its index writes ride along.
    scripts.wfBatch.run<string>(this.connection, [], [this.keys.runPrefix, text, this.keys.indexBase]).then(
      (reply) => {
        let results: [number, unknown?][];
        try {
          results = JSON.parse(reply) as [number, unknown?][];
        } catch (error) {
          for (const item of batch) item.reject(error);
          return;
        }
        batch.forEach((item, i) => {
          const [ok, value] = results[i] ?? [0, 'wf-batch returned no result for this operation'];
          if (ok !== 1) item.reject(new Error(String(value)));
          else if (item.tells) item.resolve([asScriptReply(value), true]);
          else item.resolve(asScriptReply(value));
        });
      },
      (error: unknown) => {
        for (const item of batch) item.reject(error);
      },
    );
  }
}

/**
 * A wf-batch result (JSON) as the operation's own script returns it (RESP): Lua `false` is
 * `null`, and an empty table, which JSON shows as `{}`, an empty list.
 */
function asScriptReply(value: unknown): unknown {
  if (value === false || value === undefined) return null;
  if (typeof value !== 'object' || value === null) return value;
  if (!Array.isArray(value)) return [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item === false) value[i] = null;
    else if (typeof item === 'object' && item !== null) value[i] = asScriptReply(item);
  }
  return value;
}
