import type { GroupStore } from './canvas/group-store.js';
import { type Broker, hasBroadcast, type ReplayOptions, type ReplayResult } from './contracts/broker.js';
import type { EnqueueCall, EnqueueOutcome, TaskProducer } from './contracts/producer.js';
import type { ResultBackend } from './contracts/result-backend.js';
import type { TaskDefinition } from './definitions/task-definition.js';
import { TaskEnqueueBuilder } from './definitions/task-enqueue-builder.js';
import { TaskPayloadEncoderRegistry } from './encoding/encoder-registry.js';
import type { Envelope, TaskStatus } from './envelope.js';
import { EnvelopeBuilder } from './producer/envelope-builder.js';
import { KnownTasks } from './producer/known-tasks.js';
import { Publisher } from './producer/publisher.js';
import { type ProducerParts, type StemOptions, stemOptionsFromParts } from './producer/stem-options.js';
import { ResultWaiter } from './producer/result-waiter.js';
import { StemTracing } from './observability/stem-tracing.js';
import { withEnqueueMeta } from './routing/enqueue-scope.js';
import { RoutingConfigError } from './routing/routing-config.error.js';
import { RoutingTable } from './routing/routing-table.js';
import type { EnvelopeSigner } from './signing/envelope-signer.js';
import type { TaskRegistry } from './task-handler.js';
import type { EnqueueOptions, TaskOptions } from './task-options.js';
import type { TaskResult, WaitOptions } from './task-result.js';
import type { UniqueTaskCoordinator } from './unique/unique-task-coordinator.js';
import { systemClock } from './utils/clock.js';
import { enqueueBatchSettled, StemMiddlewareChain } from './middleware/middleware-chain.js';
import { StemSignals } from './signals/stem-signals.js';

export type { EnqueueCall, EnqueueOutcome } from './contracts/producer.js';
export { PublishError, PublishOutcomeUnknownError } from './errors/publish.error.js';
export type { RemoteTask } from './producer/known-tasks.js';
export type { ProducerParts, StemOptions } from './producer/stem-options.js';

/**
 * The producer: builds envelopes, validates arguments, records the `queued` status and publishes.
 * It composes an {@link EnvelopeBuilder}, a {@link Publisher} and a {@link ResultWaiter}.
 *
 * @example
 * const stem = new Stem({ broker, backend, registry });
 * const id = await stem.enqueue('email.send', { to: 'a@b.c' }, { delay: 30_000 });
 * const result = await stem.waitForTask<{ delivered: boolean }>(id, { timeout: 5_000 });
 */
export class Stem implements TaskProducer {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  readonly registry?: TaskRegistry;
  /** Encoder registry used for args written and results read. */
  readonly encoders: TaskPayloadEncoderRegistry;
  readonly signer?: EnvelopeSigner;
  readonly uniqueCoordinator?: UniqueTaskCoordinator;
  readonly groupStore?: GroupStore;
  /** The producer's spans (`send <queue>`), or `undefined` with `tracing: false`. */
  readonly tracing?: StemTracing;
  /** Where tasks are routed (from the `routing` option or `STEM_ROUTING_CONFIG`), or `undefined` without routing. */
  readonly routing?: RoutingTable;
  /** Lifecycle signals of this producer and of the workers, Beat and workflow runtime built on it. */
  readonly signals: StemSignals;
  /** The middleware whose `onEnqueue` wraps each publish; `use()` adds more. */
  readonly middleware: StemMiddlewareChain;
  private readonly envelopes: EnvelopeBuilder;
  private readonly publisher: Publisher;
  private readonly results: ResultWaiter;
  private readonly known: KnownTasks;

  constructor(options: StemOptions) {
    this.broker = options.broker;
    this.backend = options.backend;
    this.registry = options.registry;
    this.encoders = options.encoders ?? new TaskPayloadEncoderRegistry();
    this.signer = options.signer;
    this.uniqueCoordinator = options.uniqueCoordinator;
    this.groupStore = options.groupStore;
    this.tracing = StemTracing.from(options.tracing);
    this.routing = Stem.routingOf(options);
    this.signals = options.signals instanceof StemSignals ? options.signals : new StemSignals(options.signals !== undefined ? { enabled: options.signals } : {});
    this.middleware = options.middleware instanceof StemMiddlewareChain ? options.middleware : new StemMiddlewareChain(options.middleware ?? []);
    this.envelopes = new EnvelopeBuilder({
      defaults: options.defaults ?? {},
      clock: options.clock ?? systemClock,
      encoders: this.encoders,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.argsValidator ? { argsValidator: options.argsValidator } : {}),
      ...(options.signer ? { signer: options.signer } : {}),
      ...(options.uniqueCoordinator ? { uniqueCoordinator: options.uniqueCoordinator } : {}),
      ...(this.routing ? { routing: this.routing } : {}),
    });
    this.publisher = new Publisher({
      broker: options.broker,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.resultTtl !== undefined ? { resultTtl: options.resultTtl } : {}),
      ...(options.signer ? { signer: options.signer } : {}),
      ...(this.tracing ? { tracing: this.tracing } : {}),
    });
    this.results = new ResultWaiter(options.backend, this.encoders);
    this.known = new KnownTasks({
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.remoteTasks ? { remoteTasks: options.remoteTasks } : {}),
      ...(options.allowUnknownTasks !== undefined ? { allowUnknownTasks: options.allowUnknownTasks } : {}),
    });
  }

  /**
   * Enqueues a task and resolves with its id once it is published. A `unique` task that
   * duplicates one still queued or running resolves with that task's id and publishes nothing.
   * @param taskOptions options of a task this process has no handler for (typed definitions pass theirs)
   * @throws UnknownTaskError when the producer knows its tasks and `name` is not one of them
   * @throws InvalidTaskArgsError when the task has a DTO and `args` fail validation
   * @throws PublishError when the broker rejects the publish (nothing was enqueued)
   * @throws PublishOutcomeUnknownError when the connection was lost mid-publish (enqueue again with the same `taskId`)
   */
  async enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Promise<string> {
    const composed = this.composeChecked(name, args, options, taskOptions);
    const send = this.tracing?.startSend(composed);
    try {
      const id = await this.middleware.enqueue(send ? send.envelope : composed, (draft) => this.publishOne(this.envelopes.seal(draft), options.transaction));
      if (id !== composed.id) send?.deduplicated();
      send?.end();
      return id;
    } catch (error) {
      send?.end(error);
      throw error;
    }
  }

  /**
   * Runs `fn` with `meta` added to every enqueue made inside it (by this or any producer of the
   * process, so also by task handlers and workflow steps that enqueue while it runs). Scopes nest,
   * the inner one winning; a call's own `meta` wins over the scope's. Returns what `fn` returns.
   *
   * @example
   * await stem.withMeta({ requestId: 'r-42' }, async () => {
   *   await stem.enqueue('email.send', { to: 'a@b.c' }); // meta.requestId === 'r-42'
   * });
   */
  withMeta<T>(meta: Readonly<Record<string, unknown>>, fn: () => T): T {
    return withEnqueueMeta(meta, fn);
  }

  /**
   * A fluent, typed enqueue of a task definition.
   *
   * @example
   * const id = await stem.build(sendEmail, { to: 'a@b.c' }).priority(7).delay(5_000).enqueue();
   */
  build<TArgs, TResult>(definition: TaskDefinition<TArgs, TResult>, args: TArgs): TaskEnqueueBuilder<TArgs, TResult> {
    return new TaskEnqueueBuilder(this, definition, args);
  }

  /**
   * Enqueues many tasks in one batch (one round trip where the broker supports it), all or none:
   * every call is built and checked before anything is published, and a call that fails its
   * checks (or that a middleware rejects) fails the whole batch with that call's error. Use
   * {@link enqueueManySettled} when one bad call must not keep the others from being enqueued.
   */
  async enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]> {
    const composed = calls.map((c) => this.composeChecked(c.name, c.args ?? {}, c.options ?? {}, c.taskOptions));
    const tracing = this.tracing?.enabled ? this.tracing : undefined;
    const sends = tracing ? composed.map((e) => tracing.startSend(e)!) : undefined;
    const drafts = sends ? sends.map((s) => s.envelope) : composed;
    try {
      const ids = await this.middleware.enqueueBatch(drafts, (ready) => this.publishMany(ready.map((e) => this.envelopes.seal(e))));
      for (const [i, send] of (sends ?? []).entries()) {
        if (ids[i] !== composed[i]!.id) send.deduplicated();
        send.end();
      }
      return ids;
    } catch (error) {
      if (sends) for (const send of sends) send.end(error);
      throw error;
    }
  }

  /**
   * Enqueues many tasks in one batch, each call on its own: a call that fails its checks (unknown
   * task, invalid args, an envelope that cannot be built or signed) or that a middleware rejects
   * is reported in its place as `{ ok: false, error }`; the others are published together and
   * reported as `{ ok: true, id }`, in call order.
   * @throws PublishError | PublishOutcomeUnknownError when the publish itself fails (the store, not a call, is at fault)
   *
   * @example
   * const outcomes = await stem.enqueueManySettled([{ name: 'email.send', args: { to: 'a@b.c' } }, { name: 'email.send', args: {} }]);
   * for (const o of outcomes) if (!o.ok) console.warn(o.error.message); // Invalid arguments for task "email.send": to: ...
   */
  async enqueueManySettled(calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> {
    const outcomes = new Array<EnqueueOutcome | undefined>(calls.length);
    const valid: { index: number; envelope: Envelope }[] = [];
    calls.forEach((c, index) => {
      try {
        valid.push({ index, envelope: this.composeChecked(c.name, c.args ?? {}, c.options ?? {}, c.taskOptions) });
      } catch (error) {
        outcomes[index] = { ok: false, error: asError(error) };
      }
    });
    const tracing = this.tracing?.enabled ? this.tracing : undefined;
    const sends = tracing ? valid.map((v) => tracing.startSend(v.envelope)!) : undefined;
    let storeFailure: { error: unknown } | undefined;
    const publish = async (ready: Envelope[]): Promise<PromiseSettledResult<string>[]> => {
      const results: PromiseSettledResult<string>[] = [];
      const sealed: Envelope[] = [];
      for (const draft of ready) {
        try {
          sealed.push(this.envelopes.seal(draft));
          results.push({ status: 'fulfilled', value: '' });
        } catch (error) {
          results.push({ status: 'rejected', reason: error });
        }
      }
      let ids: string[];
      try {
        ids = sealed.length > 0 ? await this.publishMany(sealed) : [];
      } catch (error) {
        storeFailure = { error };
        throw error;
      }
      let next = 0;
      return results.map((r) => (r.status === 'fulfilled' ? { status: 'fulfilled', value: ids[next++]! } : r));
    };
    const settled = await enqueueBatchSettled(this.middleware, sends ? sends.map((s) => s.envelope) : valid.map((v) => v.envelope), publish);
    settled.forEach((r, k) => {
      const send = sends?.[k];
      if (r.status === 'fulfilled') {
        if (r.value !== valid[k]!.envelope.id) send?.deduplicated();
        send?.end();
      } else send?.end(r.reason);
      outcomes[valid[k]!.index] = r.status === 'fulfilled' ? { ok: true, id: r.value } : { ok: false, error: asError(r.reason) };
    });
    if (storeFailure) throw storeFailure.error;
    return outcomes as EnqueueOutcome[];
  }

  /**
   * Builds (and validates) the envelope `enqueue` would publish, without publishing it: args
   * encoded, unique key stamped and signed when configured. Task names are not checked here.
   * Precedence: `options` > the task's options (`taskOptions`, else the registered handler's) > module defaults.
   */
  buildEnvelope(name: string, args: unknown, options: EnqueueOptions = {}, taskOptions?: TaskOptions): Envelope {
    return this.envelopes.build(name, args, options, taskOptions);
  }

  /** The current status of a task, or `null`. */
  getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    return this.results.getTaskStatus<TResult>(id);
  }

  /**
   * A status with its payload decoded by the encoder named in meta `__stemResultEncoder`.
   * @throws UnknownEncoderError when this process does not know that encoder
   */
  decodeStatus<TResult = unknown>(status: TaskStatus): TaskStatus<TResult> {
    return this.results.decodeStatus<TResult>(status);
  }

  /**
   * Waits until a task reaches a terminal state (`succeeded`, `failed`, `cancelled`) or the
   * timeout passes. Works across processes on shared backends: it watches the backend and polls
   * slowly as a fallback.
   */
  waitForTask<TResult = unknown>(id: string, options: WaitOptions = {}): Promise<TaskResult<TResult>> {
    return this.results.waitForTask<TResult>(id, options);
  }

  /**
   * Replays dead letters of a queue: each is re-signed (when this producer signs), recorded
   * `queued` again, and published with `attempt + 1`. Prefer it over `broker.replayDeadLetters`,
   * which neither re-signs nor resets statuses.
   */
  replayDeadLetters(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    return this.publisher.replayDeadLetters(queue, options);
  }

  /**
   * A producer from whichever parts are present (`undefined` and `null` parts are left out;
   * encoders may be registry options): the wiring the Nest module, the CLI and the worker share.
   *
   * @example
   * const stem = Stem.fromParts({ broker, backend: adapters.backend, signer: EnvelopeSigner.fromEnv(process.env) });
   */
  static fromParts(parts: ProducerParts): Stem {
    return new Stem(stemOptionsFromParts(parts));
  }

  /** Releases nothing by itself: the broker and backend are owned by whoever created them. */
  async close(): Promise<void> {}

  /** The routing table of `options` (or `STEM_ROUTING_CONFIG`), checked against the broker's capabilities. */
  private static routingOf(options: StemOptions): RoutingTable | undefined {
    if (options.routing === false) return undefined;
    const table = options.routing !== undefined ? RoutingTable.from(options.routing) : RoutingTable.fromEnv();
    if (table?.routesToBroadcasts && !hasBroadcast(options.broker)) {
      throw new RoutingConfigError(
        'routes',
        `a route targets a broadcast channel but the ${options.broker.name} broker has no broadcast capability; use a memory://, redis:// or postgres:// broker, or route those tasks to a queue`,
      );
    }
    return table;
  }

  /** The unsigned envelope of a call, after checking its task names (and any a canvas call carries). */
  private composeChecked(name: string, args: unknown, options: EnqueueOptions, taskOptions: TaskOptions | undefined): Envelope {
    const envelope = this.envelopes.compose(name, args, options, taskOptions ?? this.known.remoteOptions(name));
    this.known.assertKnown(name, envelope.meta);
    return envelope;
  }

  /** Publishes one built envelope; resolves with its id, or the id of the unique task it duplicates. */
  private async publishOne(envelope: Envelope, transaction: unknown): Promise<string> {
    this.signals.emit('before-task-publish', { envelope });
    if (transaction !== undefined) {
      await this.publisher.publishInTransaction(envelope, transaction);
      return this.published(envelope, envelope.id);
    }
    const existing = await this.uniqueCoordinator?.claim(envelope, this.backend);
    if (existing) return this.published(envelope, existing);
    try {
      await this.publisher.publish([envelope], { batch: false });
    } catch (error) {
      await this.uniqueCoordinator?.release(envelope).catch(() => undefined);
      throw error;
    }
    return this.published(envelope, envelope.id);
  }

  /** Emits `after-task-publish` and returns `taskId`. */
  private published(envelope: Envelope, taskId: string): string {
    this.signals.emit('after-task-publish', { envelope, taskId, deduplicated: taskId !== envelope.id });
    return taskId;
  }

  /** Publishes built envelopes in one batch; resolves with their ids (or those of the unique tasks they duplicate). */
  private async publishMany(built: readonly Envelope[]): Promise<string[]> {
    const ids = built.map((e) => e.id);
    const envelopes: Envelope[] = [];
    for (const envelope of built) this.signals.emit('before-task-publish', { envelope });
    for (const [i, envelope] of built.entries()) {
      const existing = await this.uniqueCoordinator?.claim(envelope, this.backend);
      if (existing) ids[i] = existing;
      else envelopes.push(envelope);
    }
    if (envelopes.length === 0) return built.map((envelope, i) => this.published(envelope, ids[i]!));
    try {
      await this.publisher.publish(envelopes, { batch: true });
    } catch (error) {
      if (this.uniqueCoordinator) await Promise.all(envelopes.map((e) => this.uniqueCoordinator!.release(e).catch(() => undefined)));
      throw error;
    }
    return built.map((envelope, i) => this.published(envelope, ids[i]!));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** {@link Stem.fromParts} as a function. */
export function createProducer(parts: ProducerParts): Stem {
  return Stem.fromParts(parts);
}
