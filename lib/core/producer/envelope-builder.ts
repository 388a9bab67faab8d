import { assertValidEnqueueOptions, assertValidEnvelope } from '../envelope-validator.js';
import type { TaskArgsValidator } from '../args-validator.js';
import { CanvasMeta } from '../canvas/canvas.constants.js';
import { serializeTaskCalls } from '../canvas/task-call.serializer.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { type Envelope, StemMeta } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { serializeRetryPolicy } from '../retry-policy.js';
import { enqueueScopeMeta } from '../routing/enqueue-scope.js';
import type { RoutingTable } from '../routing/routing-table.js';
import { BroadcastMeta } from '../routing/task-broadcast.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import type { TaskHandler, TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type EnqueueOptions, type TaskDefaults, type TaskOptions } from '../task-options.js';
import type { UniqueTaskCoordinator } from '../unique/unique-task-coordinator.js';
import type { Clock } from '../utils/clock.js';
import { uuidv7 } from '../utils/uuid.js';

/** What {@link EnvelopeBuilder} reads: the producer's registry, defaults, validator, encoders and signer. */
export interface EnvelopeBuilderOptions {
  readonly registry?: TaskRegistry;
  readonly defaults: TaskDefaults;
  readonly argsValidator?: TaskArgsValidator;
  readonly clock: Clock;
  readonly encoders: TaskPayloadEncoderRegistry;
  readonly signer?: EnvelopeSigner;
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  /** Routes tasks to queues or broadcast channels and clamps priorities into queue ranges. */
  readonly routing?: RoutingTable;
}

/** Where a built envelope goes: its queue (the channel, for a broadcast) and priority. */
interface Placement {
  readonly queue: string;
  readonly priority: number;
  readonly broadcast?: string;
}

function validPriority(priority: number, taskName: string): number {
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw new ConfigurationError('priority', `task "${taskName}" got priority ${priority}; use an integer from 0 to 9`);
  }
  return priority;
}

/**
 * Turns an enqueue call into the envelope that travels: args validated and encoded, options
 * resolved by precedence, unique key stamped, signed when configured. It publishes nothing.
 */
export class EnvelopeBuilder {
  constructor(private readonly options: EnvelopeBuilderOptions) {}

  /**
   * Builds (and validates) one envelope.
   * Precedence: `options` > the task's options (`taskOptions`, else the registered handler's) > module defaults.
   * @throws InvalidTaskArgsError when the task has a DTO and `args` fail validation
   * @throws ConfigurationError for an option out of range (priority outside 0–9, a lease under 100 ms, ...), a malformed `stem.*` meta value, or a unique task without a coordinator
   */
  build(name: string, args: unknown, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Envelope {
    return this.seal(this.compose(name, args, options, taskOptions));
  }

  /** Signs an envelope when the producer signs (the last step of {@link build}, after anything is added to it). */
  seal(envelope: Envelope): Envelope {
    const signer = this.options.signer;
    return signer ? signer.sign(envelope) : envelope;
  }

  /** {@link build} without the signature: the envelope to which trace headers are added before {@link seal}. */
  compose(name: string, args: unknown, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Envelope {
    const { registry, argsValidator, clock, encoders, uniqueCoordinator } = this.options;
    assertValidEnqueueOptions(name, options);
    const handler: TaskHandler | undefined = registry?.get(name);
    if (handler && argsValidator) argsValidator.validate(handler, args);
    const task = taskOptions ?? handler?.options ?? {};
    const now = clock.now();
    const scope = enqueueScopeMeta();
    // NOTE: scope meta first, then the call's meta, then the keys options set (enqueue pipeline order).
    const meta: Record<string, unknown> = { ...scope, ...options.meta };
    const expires = options.expires ?? task.expires;
    if (expires !== undefined) meta[StemMeta.expiresAt] = expires instanceof Date ? expires.getTime() : now + expires;
    if (options.retryPolicy) meta[StemMeta.retryPolicy] = serializeRetryPolicy(options.retryPolicy);
    if (options.softTimeLimit !== undefined) meta[StemMeta.softTimeLimitMs] = options.softTimeLimit;
    if (options.hardTimeLimit !== undefined) meta[StemMeta.hardTimeLimitMs] = options.hardTimeLimit;
    if (options.ignoreResult !== undefined) meta[StemMeta.ignoreResult] = options.ignoreResult;
    if (options.link?.length) meta[CanvasMeta.link] = serializeTaskCalls(options.link);
    if (options.linkError?.length) meta[CanvasMeta.linkError] = serializeTaskCalls(options.linkError);
    const eta = options.eta instanceof Date ? options.eta.getTime() : options.eta;
    const notBefore = eta ?? (options.delay ? now + options.delay : undefined);
    const maxRetries = options.maxRetries ?? task.maxRetries;
    const visibilityTimeout = options.visibilityTimeout ?? task.visibilityTimeout;
    const id = options.taskId ?? uuidv7(now);
    const headers: Record<string, string> = { ...options.headers };
    const { queue, priority, broadcast } = this.place(name, options, task);
    // NOTE: a canvas member must run as its own task: deduplicating it against another task would
    // leave its group, chord or chain waiting for a member that never reports.
    const inCanvas = meta[CanvasMeta.groupId] !== undefined || meta[CanvasMeta.chain] !== undefined;
    if (broadcast !== undefined) {
      const refused = inCanvas
        ? 'a canvas member (its group would count one result per worker)'
        : (options.unique ?? task.unique)
          ? 'unique'
          : options.transaction !== undefined
            ? 'enqueued in a transaction'
            : undefined;
      if (refused)
        throw new ConfigurationError(
          'routing',
          `task "${name}" is routed to broadcast channel "${broadcast}" but is ${refused}; route it to a queue, or pass { queue } on this call`,
        );
      meta[BroadcastMeta.channel] = broadcast;
    }
    if ((options.unique ?? task.unique) && !inCanvas) {
      if (!uniqueCoordinator) {
        throw new ConfigurationError(
          'uniqueCoordinator',
          `task "${name}" is unique but this Stem has no unique coordinator; pass { uniqueCoordinator: new UniqueTaskCoordinator({ lockStore }) }`,
        );
      }
      const key = uniqueCoordinator.keyFor({ task: name, queue, args, headers, meta });
      const ttl = uniqueCoordinator.ttlFor(options.uniqueFor ?? task.uniqueFor, visibilityTimeout);
      Object.assign(meta, uniqueCoordinator.stamp(key, id, ttl));
    }
    const argsEncoder = encoders.resolve(task.argsEncoder ?? encoders.argsEncoder, `argsEncoder of task "${name}"`);
    headers[EncoderKeys.argsHeader] = argsEncoder.id;
    meta[EncoderKeys.argsMeta] = argsEncoder.id;
    const envelope: Envelope = {
      id,
      name,
      args: argsEncoder.encode(args),
      headers,
      queue,
      priority,
      attempt: 0,
      enqueuedAt: now,
      meta,
      ...(maxRetries !== undefined ? { maxRetries } : {}),
      ...(notBefore !== undefined ? { notBefore } : {}),
      ...(visibilityTimeout !== undefined ? { visibilityTimeout } : {}),
    };
    // NOTE: caller-supplied meta or headers may carry a value of the wrong type (a `stem.*` key,
    // a non-string header); a worker would dead-letter such an envelope, so the producer refuses
    // it here. Everything else was built from options checked above.
    if (options.meta || options.headers || scope) assertValidEnvelope(envelope);
    return envelope;
  }

  /**
   * Routing step: the queue (or broadcast channel) and priority of a call. Without a routing
   * table: the call's queue, else the task's, else the module default. With one, see
   * {@link RoutingTable.resolve}: the call's queue > a matching route > the task's queue > the
   * module default > the routing default queue; the priority is clamped into the queue's range.
   */
  private place(name: string, options: EnqueueOptions, task: TaskOptions): Placement {
    const { defaults, routing } = this.options;
    const taskPriority = task.priority ?? defaults.priority;
    const priority = validPriority(options.priority ?? taskPriority ?? DEFAULT_TASK_OPTIONS.priority, name);
    if (!routing) return { queue: options.queue ?? task.queue ?? defaults.queue ?? DEFAULT_TASK_OPTIONS.queue, priority };
    if (taskPriority !== undefined) validPriority(taskPriority, name);
    const taskQueue = task.queue ?? defaults.queue;
    const decision = routing.resolve({
      task: name,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      ...(taskQueue !== undefined ? { taskQueue } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(taskPriority !== undefined ? { taskPriority } : {}),
    });
    return decision.type === 'queue'
      ? { queue: decision.queue, priority: decision.priority }
      : { queue: decision.channel, priority: decision.priority, broadcast: decision.channel };
  }
}
