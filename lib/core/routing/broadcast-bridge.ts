import { type Broker, type BroadcastSubscription, hasBroadcast } from '../contracts/broker.js';
import { validateEnvelope } from '../envelope-validator.js';
import type { Envelope } from '../envelope.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import { RoutingConfigError } from './routing-config.error.js';
import { BroadcastMeta, broadcastCopyId, broadcastQueue, type TaskBroadcastMessage, taskBroadcastChannel } from './task-broadcast.js';

/** Options of a {@link BroadcastBridge}. */
export interface BroadcastBridgeOptions {
  readonly broker: Broker;
  readonly workerId: string;
  /** Routing broadcast channels to subscribe to. */
  readonly channels: readonly string[];
  /** Verifies each broadcast task and signs the worker's copy. */
  readonly signer?: EnvelopeSigner;
  /** A message that is not a task, or a copy the broker refused. */
  readonly onError: (error: unknown) => void;
}

/**
 * Subscribes a worker to broadcast channels: each task broadcast on one is copied into the
 * worker's own queue (`<channel>@<worker id>`, id `<task id>@<worker id>`), which the worker
 * consumes like any other, so every subscribed worker runs each broadcast task once, with leases,
 * retries and dead letters. Delivery is at most once per worker up to that copy: a worker that is
 * not subscribed when the task is broadcast does not get it.
 */
export class BroadcastBridge {
  /** The worker's own queues, one per channel. */
  readonly queues: readonly string[];
  private subscriptions: BroadcastSubscription[] = [];

  constructor(private readonly options: BroadcastBridgeOptions) {
    if (!hasBroadcast(options.broker)) {
      throw new RoutingConfigError(
        'worker.broadcasts',
        `worker ${options.workerId} subscribes to ${options.channels.join(', ')} but the ${options.broker.name} broker has no broadcast channel; use memory://, redis:// or postgres://, or drop the broadcasts`,
      );
    }
    this.queues = options.channels.map((channel) => broadcastQueue(channel, options.workerId));
  }

  /** Subscribes to every channel. */
  async start(): Promise<void> {
    const broker = this.options.broker;
    if (!hasBroadcast(broker)) return;
    for (const channel of this.options.channels) {
      this.subscriptions.push(await broker.subscribeBroadcast(taskBroadcastChannel(channel), (message) => this.receive(channel, message.payload)));
    }
  }

  /** Unsubscribes; copies already queued stay for the worker. Idempotent. */
  async close(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((s) => s.close().catch(this.options.onError)));
  }

  private receive(channel: string, payload: unknown): void {
    const { broker, workerId, signer, onError } = this.options;
    const checked = validateEnvelope((payload as Partial<TaskBroadcastMessage> | null)?.envelope);
    if (!checked.ok) {
      onError(new Error(`broadcast channel "${channel}" carried a message that is not a task (${checked.details}); it was dropped`));
      return;
    }
    const envelope = checked.envelope;
    const copy: Envelope = {
      ...envelope,
      id: broadcastCopyId(envelope.id, workerId),
      queue: broadcastQueue(channel, workerId),
      meta: { ...envelope.meta, [BroadcastMeta.channel]: channel, [BroadcastMeta.id]: envelope.id },
    };
    // NOTE: a copy of a task whose signature does not hold is published unsigned-over, so the
    // worker's pipeline dead-letters it `signature-invalid` instead of this bridge vouching for it.
    const trusted = !signer || signer.verify(envelope).valid;
    const outgoing = trusted && signer?.canSign ? signer.sign(copy) : copy;
    broker
      .publish(outgoing)
      .catch((error: unknown) =>
        onError(
          new Error(`worker ${workerId} could not queue its copy of broadcast task ${envelope.name} (${envelope.id}): ${(error as Error)?.message ?? error}`, { cause: error }),
        ),
      );
  }
}
