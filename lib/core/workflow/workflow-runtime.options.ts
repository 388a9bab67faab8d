import type { StemSignals } from '../signals/stem-signals.js';
import type { Duration } from '../beat/duration.js';
import type { TaskProducer } from '../contracts/producer.js';
import type { Clock } from '../utils/clock.js';
import type { WorkflowDefinition } from './workflow-definition.js';
import type { WorkflowStore } from './workflow-store.js';

/** Options of a `WorkflowRuntime`. */
export interface WorkflowRuntimeOptions {
  readonly store: WorkflowStore;
  /** Enqueues the run tasks (`stem.workflow.run`) and the tasks workflows enqueue. */
  readonly producer: TaskProducer;
  /** Where `workflow-run-*` signals go. @default `producer.signals` when the producer is a `Stem` */
  readonly signals?: StemSignals;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Queue of the run tasks. Workers that run workflows consume it. @default 'workflow' */
  readonly queue?: string;
  /** Run lease, renewed at half its length while a run executes; also the run task's visibility timeout. @default 30 s */
  readonly runLeaseDuration?: Duration;
  /** Period of the safety-net sweep that enqueues due runs whose delayed run task went missing. @default 1 s */
  readonly sweepInterval?: Duration;
  /**
   * A `running` run with a free lease that did not change for this long gets a new run task from
   * the sweep (its task was lost while it ran); `0` turns that off. @default 4 × runLeaseDuration
   */
  readonly orphanSweepAfter?: Duration;
  /** Due runs enqueued per sweep. @default 256 */
  readonly sweepBatch?: number;
  /**
   * Retries of a run task that failed outside the run's steps (store unreachable), before it
   * is dead-lettered; step failures follow their own `maxRetries`.
   * @default 10
   */
  readonly runTaskMaxRetries?: number;
  /** Prefix of the lease owner tokens of this runtime. @default `wf-<random>` */
  readonly ownerId?: string;
  /**
   * Maps a class given to `ctx.startChild(Class, ...)` to a workflow name (the Nest layer reads
   * `@Workflow()` metadata); `undefined` when it names none. @default classes are not resolved
   */
  readonly resolveWorkflowName?: (workflow: abstract new (...args: never[]) => unknown) => string | undefined;
  /** Definitions registered at once. */
  readonly definitions?: readonly WorkflowDefinition[];
}
