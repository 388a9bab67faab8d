import type { CanvasCoordinator } from '../canvas/canvas.worker-hook.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import type { StemTracing } from '../observability/stem-tracing.js';
import { TaskTracingExtension } from '../observability/task-tracing.extension.js';
import { BroadcastBridge } from '../routing/broadcast-bridge.js';
import { workerBroadcasts, workerQueues } from '../routing/worker-subscription.js';
import { Stem } from '../stem.js';
import type { TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import { terminalHookExtension, uniqueLockExtension } from './builtin-extensions.js';
import { middlewareExtension } from '../middleware/middleware.extension.js';
import { StemMiddlewareChain } from '../middleware/middleware-chain.js';
import { StemSignals } from '../signals/stem-signals.js';
import type { WorkerExtension } from './worker-extension.js';
import type { WorkerSignalSink } from './worker-signals.js';
import type { WorkerOptions } from './worker.options.js';

/** The producer a worker builds when none is given: retries, rate-limit delays and child tasks go through it. */
export function workerProducer(
  options: WorkerOptions,
  resolved: {
    readonly defaults: TaskDefaults;
    readonly clock: Clock;
    readonly encoders: TaskPayloadEncoderRegistry;
    readonly tracing?: StemTracing;
    readonly signals: StemSignals;
  },
): Stem {
  return Stem.fromParts({
    broker: options.broker,
    backend: options.backend,
    registry: options.registry,
    defaults: resolved.defaults,
    argsValidator: options.argsValidator,
    clock: resolved.clock,
    encoders: resolved.encoders,
    signer: options.signer,
    uniqueCoordinator: options.uniqueCoordinator,
    groupStore: options.groupStore,
    tracing: resolved.tracing ?? false,
    routing: options.routing,
    signals: resolved.signals,
    middleware: middlewareOf(options),
  });
}

/** The worker's signal hub: `options.signals` when it is one, else its producer's, else a new one with that setting. */
export function workerSignals(options: WorkerOptions): StemSignals {
  if (options.signals instanceof StemSignals) return options.signals;
  if (options.signals === undefined && options.producer) return options.producer.signals;
  return new StemSignals(options.signals !== undefined ? { enabled: options.signals } : {});
}

function middlewareOf(options: WorkerOptions): StemMiddlewareChain {
  return options.middleware instanceof StemMiddlewareChain ? options.middleware : new StemMiddlewareChain(options.middleware ?? []);
}

/**
 * A worker's extensions: the built-in ones first (tracing, canvas, unique locks, `onTerminal`
 * hooks), then the user's, then the middleware (innermost around the handler).
 */
export function workerExtensions(options: WorkerOptions, canvas: CanvasCoordinator, tracing: StemTracing | undefined, workerId: string, sink: WorkerSignalSink): WorkerExtension[] {
  const middleware = middlewareExtension(middlewareOf(options), (error) => sink.error(error));
  return [
    ...(tracing ? [new TaskTracingExtension(tracing, workerId)] : []),
    canvas,
    ...(options.uniqueCoordinator ? [uniqueLockExtension(options.uniqueCoordinator)] : []),
    ...(options.onTerminal ?? []).map(terminalHookExtension),
    ...(options.extensions ?? []),
    ...(middleware ? [middleware] : []),
  ];
}

/**
 * A worker's subscription: its queues (`queues`, else `STEM_WORKER_QUEUES`, else where the
 * producer's routing sends its registered tasks) and, for its broadcast channels (`broadcasts`,
 * else `STEM_WORKER_BROADCASTS`), a bridge and the worker's own queue of each.
 */
export function workerSubscription(
  options: WorkerOptions,
  resolved: { readonly defaults: TaskDefaults; readonly producer: Stem; readonly id: string; readonly onError: (error: unknown) => void },
): { queues: string[]; bridge?: BroadcastBridge } {
  const routing = resolved.producer.routing;
  const queues = workerQueues({ ...(options.queues ? { queues: options.queues } : {}), registry: options.registry, defaults: resolved.defaults, ...(routing ? { routing } : {}) });
  const channels = workerBroadcasts(options.broadcasts, routing);
  if (channels.length === 0) return { queues };
  const bridge = new BroadcastBridge({ broker: options.broker, workerId: resolved.id, channels, ...(options.signer ? { signer: options.signer } : {}), onError: resolved.onError });
  return { queues: [...queues, ...bridge.queues.filter((q) => !queues.includes(q))], bridge };
}
