import type { TaskArgsValidator } from '../args-validator.js';
import type { GroupStore } from '../canvas/group-store.js';
import type { Broker } from '../contracts/broker.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import { TaskPayloadEncoderRegistry, type TaskPayloadEncoderRegistryOptions } from '../encoding/encoder-registry.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { TaskRegistry } from '../task-handler.js';
import type { TaskDefaults } from '../task-options.js';
import type { UniqueTaskCoordinator } from '../unique/unique-task-coordinator.js';
import type { Clock } from '../utils/clock.js';
import type { TracingSetting } from '../observability/stem-tracing.js';
import type { RoutingInput } from '../routing/routing-table.js';
import type { StemMiddleware } from '../middleware/stem-middleware.js';
import type { StemMiddlewareChain } from '../middleware/middleware-chain.js';
import type { StemSignals } from '../signals/stem-signals.js';
import type { StemSignalsSetting } from '../signals/signals.options.js';
import type { RemoteTask } from './known-tasks.js';

/** Options of the {@link Stem} producer. */
export interface StemOptions {
  readonly broker: Broker;
  /** Where statuses are written and read; without it `waitForTask` and statuses are unavailable. */
  readonly backend?: ResultBackend;
  /**
   * Known tasks: their options fill in what a call leaves unset, their DTOs validate args, and,
   * once it holds any task, a name it does not hold is refused (see `remoteTasks`).
   */
  readonly registry?: TaskRegistry;
  /**
   * Tasks other processes run that this producer enqueues: names, or `defineTask()` definitions
   * (their options apply to calls by name). Declaring any makes the producer check names even
   * with an empty registry.
   * @example remoteTasks: ['billing.charge', sendEmail]
   */
  readonly remoteTasks?: readonly RemoteTask[];
  /**
   * Accept task names that are neither registered nor declared in `remoteTasks`. Without it a
   * producer whose registry holds any task (or that declares remote tasks) throws
   * `UnknownTaskError` for an unknown name; a producer that knows no task accepts any name.
   * @default false
   */
  readonly allowUnknownTasks?: boolean;
  /** Module-wide defaults (lowest precedence). */
  readonly defaults?: TaskDefaults;
  /** Validates args of tasks with a DTO before publishing. */
  readonly argsValidator?: TaskArgsValidator;
  /** TTL in ms of the `queued` status. @default the backend's default */
  readonly resultTtl?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Signs every published envelope (workers with a signer refuse unsigned or tampered ones). */
  readonly signer?: EnvelopeSigner;
  /** Encoders of args and results. @default json only */
  readonly encoders?: TaskPayloadEncoderRegistry;
  /** Deduplicates `unique` tasks; required to enqueue them. */
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  /** Group and chord state for `Canvas`. */
  readonly groupStore?: GroupStore;
  /**
   * OpenTelemetry spans: a `send <queue>` span per enqueued task, whose context travels in the
   * envelope's `traceparent`/`tracestate` headers. `false` turns them off.
   * @default true (the global tracer provider: a no-op until an OpenTelemetry SDK registers one)
   */
  readonly tracing?: TracingSetting;
  /**
   * Routing: a config object, config text (JSON or YAML) or a path to a `.json`/`.yaml`/`.yml`
   * file, or a `RoutingTable`. Validated here, so a bad config fails at startup. `false` turns
   * routing off even when `STEM_ROUTING_CONFIG` is set.
   * @default from `STEM_ROUTING_CONFIG`, else none (every task goes to its call's, its `@Task`'s or the default queue)
   */
  readonly routing?: RoutingInput | false;
  /**
   * Middleware whose `onEnqueue` wraps every publish, in order (the first outermost); more can be
   * added later with `stem.middleware.use()`. See {@link StemMiddleware}.
   */
  readonly middleware?: readonly StemMiddleware[] | StemMiddlewareChain;
  /**
   * The signal hub (`stem.signals`): one to share, or which signals a new hub emits. Workers given
   * this producer emit on the same hub. @default a new hub emitting every signal
   */
  readonly signals?: StemSignals | StemSignalsSetting;
}

/**
 * The parts a producer is made of, as a module, a CLI or a worker has them at hand: every part
 * but the broker may be missing (`undefined` or `null`), and encoders may be registry options.
 */
export type ProducerParts = { readonly broker: Broker } & {
  readonly [K in Exclude<keyof StemOptions, 'broker' | 'encoders'>]?: StemOptions[K] | null;
} & {
  /** A registry to share, or the options to build one from. @default json only */
  readonly encoders?: TaskPayloadEncoderRegistry | TaskPayloadEncoderRegistryOptions | null;
};

/** {@link StemOptions} from whichever {@link ProducerParts} are present. */
export function stemOptionsFromParts(parts: ProducerParts): StemOptions {
  const { broker, encoders, ...rest } = parts;
  const present = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined && value !== null));
  return {
    ...(present as Omit<StemOptions, 'broker' | 'encoders'>),
    broker,
    ...(encoders ? { encoders: encoders instanceof TaskPayloadEncoderRegistry ? encoders : new TaskPayloadEncoderRegistry(encoders) } : {}),
  };
}
