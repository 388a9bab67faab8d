import type { Clock } from '../../core/utils/clock.js';
import type { RunState } from '../../core/workflow/run-state.js';
import type { RedisConnection } from './redis.connection.js';
import { decodeRun, type RawRunState } from './redis.workflow-codec.js';
import type { RedisWorkflowKeys } from './redis.workflow-keys.js';
import type { RedisRunOps } from './redis.workflow-ops.js';

/** What the operation groups of the Redis workflow store share. */
export class RedisWorkflowContext {
  constructor(
    readonly connection: RedisConnection,
    readonly keys: RedisWorkflowKeys,
    readonly clock: Clock,
    /** Ended runs are kept this long (ms); 0 keeps them. */
    readonly retention: number,
    /** The store's run operations (reads made in one tick go out together). */
    readonly ops: RedisRunOps,
  ) {}

  /** The run, or `null` (missing, or past its retention). */
  async readRun(runId: string): Promise<RunState | null> {
    return decodeRun(await this.ops.run<RawRunState>('get', runId, []), this.clock.now());
  }

  /** Several runs, in the order of `ids` (one wf-batch call on a standalone server; on a Cluster pipelined, each on its own slot). */
  readRuns(ids: readonly string[]): Promise<(RunState | null)[]> {
    return Promise.all(ids.map((id) => this.readRun(id)));
  }
}
