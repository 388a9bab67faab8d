import type { Type } from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import type { Broker } from '../../core/contracts/broker.js';
import type { StemTlsOptions } from '../../adapters/tls/stem-tls.options.js';
import type { ControlStore } from '../../core/contracts/control-store.js';
import type { LockStore } from '../../core/contracts/lock-store.js';
import type { RateLimiter } from '../../core/contracts/rate-limiter.js';
import type { ResultBackend } from '../../core/contracts/result-backend.js';
import type { ScheduleStore } from '../../core/contracts/schedule-store.js';
import type { CatchUpPolicy } from '../../core/beat/beat.options.js';
import type { GroupStore } from '../../core/canvas/group-store.js';
import type { TaskPayloadEncoderRegistry, TaskPayloadEncoderRegistryOptions } from '../../core/encoding/encoder-registry.js';
import type { EnvelopeSigner } from '../../core/signing/envelope-signer.js';
import type { SigningOptions } from '../../core/signing/signing.options.js';
import type { TaskDefaults } from '../../core/task-options.js';
import type { RemoteTask } from '../../core/producer/known-tasks.js';
import type { ShutdownMode } from '../../core/worker/worker.options.js';
import type { AutoscaleOptions } from '../../core/worker/autoscaler.js';
import type { StemThreadOptions } from './stem-thread-options.interface.js';
import type { TracingOptions } from '../../core/observability/stem-tracing.js';
import type { WorkerExtension } from '../../core/worker/worker-extension.js';
import type { Duration } from '../../core/beat/duration.js';
import type { WorkflowStore } from '../../core/workflow/workflow-store.js';
import type { RoutingInput } from '../../core/routing/routing-table.js';
import type { StemMiddleware } from '../../core/middleware/stem-middleware.js';
import type { StemSignals } from '../../core/signals/stem-signals.js';
import type { StemSignalsSetting } from '../../core/signals/signals.options.js';

/** Worker settings of {@link StemModuleOptions}. */
export interface StemWorkerOptions {
  /**
   * Queues to consume (routing aliases resolve; the default queue brings its fallbacks).
   * @default `STEM_WORKER_QUEUES` (comma list), else the queues the discovered `@Task()` methods are routed to
   */
  readonly queues?: readonly string[];
  /**
   * Broadcast channels of the routing config this worker subscribes to: a task routed to one runs
   * once on every subscribed worker. @default `STEM_WORKER_BROADCASTS` (comma list), else none
   */
  readonly broadcasts?: readonly string[];
  /** Hard cap on tasks running at once in this process. @default 8 */
  readonly concurrency?: number;
  /** Deliveries fetched ahead of free slots. @default concurrency */
  readonly prefetch?: number;
  /** Worker id (consumer name). @default `stem-worker-<host>-<pid>-<random>` */
  readonly id?: string;
  /** How `app.close()` stops the worker. @default 'warm' (wait for running tasks) */
  readonly shutdownMode?: ShutdownMode;
  /** Grace period of a soft shutdown in ms. @default 30000 */
  readonly shutdownGracePeriod?: number;
  /** Interval of the worker's heartbeats (and of re-reading revocations and pauses) in ms; a heartbeat lives 3 intervals. @default 5000 */
  readonly heartbeatInterval?: number;
  /** Time a task revoked with `terminate` gets to honour `ctx.signal` before its slot is freed, in ms. @default 1000 */
  readonly terminateGracePeriod?: number;
  /**
   * When a control `shutdown` stopped the worker, close the app as SIGTERM would (a SIGTERM to
   * this process; with `app.enableShutdownHooks()` Nest closes the app, else Node exits).
   * @default true
   */
  readonly closeAppOnShutdown?: boolean;
  /** The thread pool of `@Task({ runIn: 'thread' })` methods; created when such a task exists or this is set. */
  readonly threads?: StemThreadOptions;
  /** Move the concurrency between `min` and `max` from the queues' backlog (`concurrency` is then ignored). */
  readonly autoscale?: AutoscaleOptions;
  /** Extensions plugged into every delivery the worker runs (after the built-in ones and the workflow runtime's). */
  readonly extensions?: readonly WorkerExtension[];
}

/** Durable workflow settings of {@link StemModuleOptions}. */
export interface StemWorkflowsOptions {
  /**
   * Workflow store URL or instance: where runs, checkpoints, watchers and signals live. Every
   * process that starts or runs the same workflows must share it.
   * @default the broker's store (`memory://` gives an in-process store)
   */
  readonly store?: string | WorkflowStore;
  /**
   * Queue of the run tasks (`stem.workflow.run`). The worker of an app that defines
   * `@Workflow()` classes consumes it in addition to its other queues.
   * @default 'workflow'
   */
  readonly queue?: string;
  /** Run lease, renewed while a run executes; a dead worker's run is picked up by another after at most one lease. @default '30s' */
  readonly runLeaseDuration?: Duration;
  /** Period of the sweep that re-enqueues due runs whose delayed run task went missing. @default '1s' */
  readonly sweepInterval?: Duration;
}

/** Beat settings of {@link StemModuleOptions}. */
export interface StemBeatOptions {
  /** Ms between ticks. @default 1000 */
  readonly tickInterval?: number;
  /** TTL of the per-entry lock; a dead replica hands over within it. @default 5000 */
  readonly lockTtl?: number;
  /** Ticks missed while no replica ran: run `'once'`, or `'skip'` them. Never a burst. @default 'once' */
  readonly catchUp?: CatchUpPolicy;
}

/** Telemetry settings of {@link StemModuleOptions}: both go through the OpenTelemetry API, no-ops until an SDK is registered. */
export interface StemTelemetryOptions {
  /**
   * Spans on the messaging conventions: `send <queue>` per enqueue, `process <queue>` per attempt
   * (the handler runs inside it), `beat <schedule>` per Beat dispatch. Options pick the tracer
   * provider and whether an attempt is a child of its `send` span or a new trace linked to it.
   * @default true (the global tracer provider, parentage `child`)
   */
  readonly traces?: boolean | TracingOptions;
  /** The `stem.*` metrics (task outcomes, durations, queue depth, Beat drift). @default true */
  readonly metrics?: boolean;
}

/**
 * Options of `StemModule.forRoot()` / `forRootAsync()`.
 *
 * @example
 * StemModule.forRoot({
 *   broker: 'redis://127.0.0.1:6379',
 *   worker: { queues: ['emails'], concurrency: 8 },
 *   defaults: { maxRetries: 3 },
 * })
 */
export interface StemModuleOptions {
  /**
   * Broker URL (`memory://`, `redis://`, `rediss://`, `postgres://`, `postgresql://`) or instance.
   * @default 'memory://'
   */
  readonly broker?: string | Broker;
  /**
   * Result backend URL or instance; `false` disables statuses (then `waitForTask` is unavailable).
   * @default the same store as the broker
   */
  readonly backend?: string | ResultBackend | false;
  /** Lock store URL or instance (unique tasks, Beat). @default the same store as the broker */
  readonly lockStore?: string | LockStore;
  /** Rate limiter URL or instance. @default the same store as the broker (global on Redis/Postgres) */
  readonly rateLimiter?: string | RateLimiter;
  /** Schedule store URL or instance. @default the same store as the broker */
  readonly scheduleStore?: string | ScheduleStore;
  /**
   * Run Beat in this process: upsert `@Schedule()` entries at boot and dispatch due runs. Any
   * number of replicas may run it; each tick is dispatched once. @default false
   */
  readonly beat?: boolean | StemBeatOptions;
  /** Group and chord store (canvas) URL or instance. @default the same store as the broker */
  readonly groupStore?: string | GroupStore;
  /**
   * Where revocations, paused queues and worker heartbeats are kept (the control plane).
   * @default the backend's store, else the broker's
   */
  readonly revokeStore?: string | ControlStore;
  /**
   * CA, client certificate and key (PEM file paths, PEM text or bytes) for TLS connections of the
   * stores given by URL: `rediss://`, and Postgres URLs with `?sslmode=require|verify-ca|verify-full`.
   * `allowInsecure: true` skips verifying the server (logged as a warning). Each setting given
   * here wins over its environment variable; `false` ignores the environment.
   * @default from `STEM_TLS_CA_CERT`, `STEM_TLS_CLIENT_CERT`, `STEM_TLS_CLIENT_KEY`, `STEM_TLS_ALLOW_INSECURE`
   * @example tls: { ca: '/etc/stem/ca.pem', cert: '/etc/stem/client.pem', key: '/etc/stem/client.key' }
   */
  readonly tls?: StemTlsOptions | false;
  /**
   * Sign envelopes on enqueue and verify them in the worker (HMAC-SHA256 or Ed25519). An
   * `EnvelopeSigner`, its options, or `false`. @default from `STEM_SIGNING_*` env vars, else off
   */
  readonly signing?: EnvelopeSigner | SigningOptions | false;
  /** Payload encoders of args and results (ids carried with each task). @default JSON only */
  readonly encoders?: TaskPayloadEncoderRegistry | TaskPayloadEncoderRegistryOptions;
  /** Unique tasks: default lock TTL in ms when a task sets neither `uniqueFor` nor a visibility timeout. @default 300000 */
  readonly uniqueDefaultTtl?: number;
  /** Defaults for every task (lowest precedence). */
  readonly defaults?: TaskDefaults;
  /**
   * Routing: queues with priority ranges, a default queue with aliases and fallbacks, and ordered
   * routes (task globs, headers, queue) to a queue or a broadcast channel. A config object, JSON or
   * YAML text, a path to a `.json`/`.yaml`/`.yml` file, or a `RoutingTable`; checked at bootstrap.
   * A call's `queue` wins over routes, routes over the `@Task` queue. `false` ignores the env var.
   * @default from `STEM_ROUTING_CONFIG`, else none
   */
  readonly routing?: RoutingInput | false;
  /** Run a worker in this process; `false` makes a producer-only app. @default {} (a worker on the tasks' queues) */
  readonly worker?: StemWorkerOptions | false;
  /**
   * Tasks this app enqueues that other processes run: names or `defineTask()` definitions. Once
   * the app knows any task (a `@Task()` provider or a declared one), `enqueue` refuses other names
   * with `UnknownTaskError`, so an API module with `worker: false` that does not import the task
   * providers declares the tasks it sends here.
   * @example remoteTasks: ['billing.charge', sendEmail]
   */
  readonly remoteTasks?: readonly RemoteTask[];
  /** Let `enqueue` accept task names that are neither `@Task()` methods here nor in `remoteTasks`. @default false */
  readonly allowUnknownTasks?: boolean;
  /**
   * Validate DTO arguments with class-validator on enqueue and in the worker. `false` disables it.
   * @default true
   */
  readonly validation?: boolean | ValidatorOptions;
  /**
   * Traces and `stem.*` metrics through the OpenTelemetry API (no-ops until an OpenTelemetry SDK
   * is registered in the process); `false` turns both off.
   * @default { traces: true, metrics: true }
   * @example telemetry: { traces: { parentage: 'link' }, metrics: false }
   */
  readonly telemetry?: boolean | StemTelemetryOptions;
  /** TTL of statuses and results in ms. @default the backend's default (1 day) */
  readonly resultTtl?: number;
  /**
   * Durable workflows (`@Workflow()` classes, `StemClient.workflows`); `false` turns them off.
   * @default {} (on, with the broker's store)
   */
  readonly workflows?: StemWorkflowsOptions | false;
  /**
   * Middleware of the producer and the worker, in order, before any `@StemMiddleware()` provider:
   * classes or plain objects. A class is the app's provider of that class when there is one
   * (list it in your module's `providers` too when it has dependencies); otherwise Stem creates
   * it, which works for classes without dependencies or with global ones.
   */
  readonly middleware?: readonly (Type<StemMiddleware> | StemMiddleware)[];
  /**
   * Which lifecycle signals are emitted (`StemClient.signals`), or a hub to share.
   * @default every signal
   * @example signals: { disabled: ['task-progress'] }
   */
  readonly signals?: StemSignals | StemSignalsSetting;
}
