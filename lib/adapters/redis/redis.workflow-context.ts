import type { Clock } from '../../core/utils/clock.js';
import type { RunState } from '../../core/workflow/run-state.js';
import type { RedisConnection } from './redis.connection.js';
import { decodeRun, type RawRunState } from './redis.workflow-codec.js';
import type { RedisWorkflowKeys } from './redis.workflow-keys.js';
import { scripts } from './scripts/index.js';

/** What the operation groups of the Redis workflow store share. */
export class RedisWorkflowContext {
  constructor(
    readonly connection: RedisConnection,
    readonly keys: RedisWorkflowKeys,
    readonly clock: Clock,
    /** Ended runs are kept this long (ms); 0 keeps them. */
    readonly retention: number,
  ) {}

  /** The run, or `null` (missing, or past its retention). */
  async readRun(runId: string): Promise<RunState | null> {
    return decodeRun(await scripts.wfGet.run<RawRunState>(this.connection, this.keys.run(runId), []), this.clock.now());
  }

  /** Several runs, in the order of `ids` (pipelined; each on its own slot). */
  readRuns(ids: readonly string[]): Promise<(RunState | null)[]> {
    return Promise.all(ids.map((id) => this.readRun(id)));
  }
}
