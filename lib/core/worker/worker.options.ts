import type { TaskArgsValidator } from '../args-validator.js';
import type { GroupStore } from '../canvas/group-store.js';
import type { Broker } from '../contracts/broker.js';
import type { RateLimiter } from '../contracts/rate-limiter.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { RoutingInput } from '../routing/routing-table.js';
import type { Stem } from '../stem.js';
import type { TaskRegistry } from '../task-handler.js';
import type { TaskDefaults } from '../task-options.js';
import type { UniqueTaskCoordinator } from '../unique/unique-task-coordinator.js';
import type { Clock } from '../utils/clock.js';
import type { AutoscaleOptions } from './autoscaler.js';
import type { TaskLogSink } from '../observability/task-logger.js';
import type { TracingSetting } from '../observability/stem-tracing.js';
import type { TaskExecutor } from './task-executor.js';
import type { TerminalTaskOutcome } from './task-outcome.js';
import type { StemMiddleware } from '../middleware/stem-middleware.js';
import type { StemMiddlewareChain } from '../middleware/middleware-chain.js';
import type { StemSignals } from '../signals/stem-signals.js';
import type { StemSignalsSetting } from '../signals/signals.options.js';
import type { WorkerExtension } from './worker-extension.js';

/** Runs after a task reached `succeeded`, `failed` or `cancelled` (before the ack); errors become `worker-error` signals. */
export type TerminalTaskHook = (outcome: TerminalTaskOutcome) => Promise<void> | void;

/** How a worker stops. */
export type ShutdownMode = 'warm' | 'soft' | 'hard';

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  readonly broker: Broker;
  /** Where statuses and results are written. Strongly recommended. */
  readonly backend?: ResultBackend;
  readonly registry: TaskRegistry;
  /**
   * Queues to consume (routing aliases resolve; the default queue brings its fallbacks).
   * @default `STEM_WORKER_QUEUES` (comma list), else the queues the registered tasks are routed to
   */
  readonly queues?: readonly string[];
  /**
   * Broadcast channels of the routing config to subscribe to: every task broadcast on one runs
   * once on every subscribed worker (from the worker's own queue `<channel>@<worker id>`).
   * @default `STEM_WORKER_BROADCASTS` (comma list), else none
   */
  readonly broadcasts?: readonly string[];
  /** Routing of the producer the worker builds when `producer` is not given (see `StemOptions.routing`). @default `STEM_ROUTING_CONFIG` */
  readonly routing?: RoutingInput | false;
  /** Hard cap on tasks running at once. @default 8 */
  readonly concurrency?: number;
  /** Deliveries fetched ahead of free slots (leased and renewed while they wait). @default concurrency */
  readonly prefetch?: number;
  /** Module-wide task defaults (lowest precedence). */
  readonly defaults?: TaskDefaults;
  /** Limiter for tasks with `rateLimit`. @default an in-process limiter */
  readonly rateLimiter?: RateLimiter;
  /** Validates and transforms args (DTOs) before the handler runs. */
  readonly argsValidator?: TaskArgsValidator;
  /** Producer used by `ctx.enqueue()`. @default one built on the same broker and backend */
  readonly producer?: Stem;
  /** Worker id, used as consumer name. @default `stem-worker-<host>-<pid>-<random>` */
  readonly id?: string;
  /** TTL in ms of statuses the worker writes. @default the backend's default */
  readonly resultTtl?: number;
  /** Grace period in ms of a soft shutdown before in-flight tasks are requeued. @default 30000 */
  readonly softShutdownGracePeriod?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Verifies every envelope (unsigned or tampered ones are dead-lettered `signature-invalid`) and re-signs retries. */
  readonly signer?: EnvelopeSigner;
  /** Encoders of args and results. @default the producer's, else json only */
  readonly encoders?: TaskPayloadEncoderRegistry;
  /** Releases unique locks when tasks reach a terminal state. */
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  /** Group and chord state, needed to run canvas groups and chords. */
  readonly groupStore?: GroupStore;
  /** Extra hooks run after each terminal status. */
  readonly onTerminal?: readonly TerminalTaskHook[];
  /**
   * Extensions that plug into every delivery (admission, wrapping the run, outcomes). They come
   * after the worker's built-in ones (tracing, canvas, unique-lock release, `onTerminal` hooks).
   */
  readonly extensions?: readonly WorkerExtension[];
  /**
   * Middleware around each delivery (`onConsume`, `onExecute`, `onError`), in order, after the
   * `extensions`; the producer the worker builds (child tasks) runs their `onEnqueue` too.
   * See {@link StemMiddleware} for the order and error rules.
   */
  readonly middleware?: readonly StemMiddleware[] | StemMiddlewareChain;
  /**
   * Where the worker emits its signals (`worker.signals`): a hub to share, or which signals a
   * new hub emits. @default the `producer`'s hub, else a new hub emitting every signal
   */
  readonly signals?: StemSignals | StemSignalsSetting;
  /**
   * Executors by name; a task runs in the one its `runIn` option names. `inline` (the worker's
   * thread, with soft and hard time limits) is always there unless this replaces it. The worker
   * closes every executor in `close()`, after its running tasks drained.
   * @default { inline: new InlineExecutor(clock) }
   */
  readonly executors?: Readonly<Record<string, TaskExecutor>>;
  /**
   * Errors inside the pipeline of one delivery (a store error, an extension's `beforeRun`
   * throwing, a follow-up that fails after the task succeeded, a requeue or dead-letter write
   * refused) that are tolerated before the delivery is dead-lettered with reason `pipeline-error`
   * and the last error. Until then it is requeued with exponential backoff
   * (`pipelineFailureBackoff`, doubled each time, capped at one minute). The count travels in the
   * envelope's `stem.pipelineFailures` meta.
   * @default 5
   */
  readonly pipelineFailureBudget?: number;
  /**
   * Moves the concurrency between `min` and `max` from the broker's pending count of the
   * worker's queues (then `concurrency` is ignored; the worker starts at `min`). Executors with
   * their own pool (threads) follow it, below their own size. Emits `worker-scaled`.
   */
  readonly autoscale?: AutoscaleOptions;
  /** First requeue delay in ms after a pipeline error (see `pipelineFailureBudget`). @default 1000 */
  readonly pipelineFailureBackoff?: number;
  /**
   * OpenTelemetry spans: a `process <queue>` span around each attempt (the handler runs inside
   * it), and `send` spans for the tasks the worker enqueues when it builds its own producer.
   * `false` turns them off.
   * @default true (the global tracer provider: a no-op until an OpenTelemetry SDK registers one)
   */
  readonly tracing?: TracingSetting;
  /** Where `ctx.logger` lines go. @default one line per call on the console (`consoleTaskLogSink`) */
  readonly taskLogSink?: TaskLogSink;
}
