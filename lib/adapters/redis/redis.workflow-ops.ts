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

/** Most operations of one wf-batch call (a longer queue is split). */
const MAX_BATCH = 256;

interface Pending {
  readonly keys: readonly string[];
  readonly op: RunOp;
  readonly args: readonly (string | number)[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends the hot run operations of the Redis workflow store (create, read, checkpoint, claim with
 * load, end). On a standalone server the operations asked for in the same tick (the runs a
 * fetched batch advances, a burst of starts) go out as one `wf-batch` call, each still atomic on
 * its own run and failing alone; a lone operation, and every operation on a Cluster (whose runs
 * live on different slots), is its own script call.
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
    const keys = this.keys.run(runId);
    if (this.connection.isCluster) return SINGLE[op].run<T>(this.connection, keys, args);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ keys, op, args, resolve: resolve as (value: unknown) => void, reject });
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
    if (batch.length === 1) {
      const [one] = batch as [Pending];
      SINGLE[one.op].run(this.connection, one.keys, one.args).then(one.resolve, one.reject);
      return;
    }
    const keys: string[] = [];
    const argv: (string | number)[] = [];
    for (const item of batch) {
      keys.push(...item.keys);
      argv.push(item.op, item.args.length, ...item.args);
    }
    scripts.wfBatch.run<[number, unknown?][]>(this.connection, keys, argv).then(
      (results) =>
        batch.forEach((item, i) => {
          const [ok, value] = results[i] ?? [0, 'wf-batch returned no result for this operation'];
          if (Number(ok) === 1) item.resolve(value ?? null);
          else item.reject(new Error(String(value)));
        }),
      (error: unknown) => {
        for (const item of batch) item.reject(error);
      },
    );
  }
}
