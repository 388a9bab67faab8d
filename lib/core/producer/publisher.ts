import { CanvasMeta } from '../canvas/canvas.constants.js';
import { type Broker, isTransactionalBroker, type ReplayOptions, type ReplayResult, requireBrokerCapability } from '../contracts/broker.js';
import { type QueuedPublish, queuedPublisherFor } from '../contracts/queued-publish.js';
import { isTransactionalResultBackend, type ResultBackend, type SetStatusOptions } from '../contracts/result-backend.js';
import { type Envelope, StemMeta } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { PublishError, PublishOutcomeUnknownError } from '../errors/publish.error.js';
import { broadcastChannelOf, publishBroadcast } from '../routing/task-broadcast.js';
import type { EnvelopeSigner } from '../signing/envelope-signer.js';
import { UniqueMeta } from '../unique/unique.constants.js';
import type { SendSpan, StemTracing } from '../observability/stem-tracing.js';
import { publishCertainlyFailed } from './publish-outcome.js';

/** What {@link Publisher} writes to: the broker, the result backend, and the `queued` TTL. */
export interface PublisherOptions {
  readonly broker: Broker;
  readonly backend?: ResultBackend;
  /** TTL in ms of the `queued` status. @default the backend's default */
  readonly resultTtl?: number;
  readonly signer?: EnvelopeSigner;
  /** Opens a `send` span for each replayed dead letter. */
  readonly tracing?: StemTracing;
}

const distinct = (values: readonly string[]) => [...new Set(values)].join(', ');

/** A canvas follow-up (chord callback, next chain step, link) is published again when its trigger is redelivered. */
function isFollowUp(envelope: Envelope): boolean {
  return envelope.meta[CanvasMeta.chordResults] !== undefined || envelope.meta[CanvasMeta.parentResult] !== undefined || envelope.meta[CanvasMeta.parentError] !== undefined;
}

/**
 * Records the `queued` status and publishes built envelopes; on failure records what is known and
 * throws {@link PublishError} (nothing was enqueued) or {@link PublishOutcomeUnknownError} (the
 * connection was lost mid-publish: the tasks may have been enqueued).
 */
export class Publisher {
  /** The broker's publish with the `queued` write folded in, when broker and backend share a store. */
  private readonly folded: QueuedPublish | undefined;

  constructor(private readonly options: PublisherOptions) {
    this.folded = queuedPublisherFor(options.broker, options.backend);
  }

  /**
   * Publishes envelopes: one by one with `batch: false`, else in one batch where the broker supports it.
   * @throws PublishError when nothing was enqueued
   * @throws PublishOutcomeUnknownError when the tasks may have been enqueued
   */
  async publish(all: readonly Envelope[], { batch }: { batch: boolean }): Promise<void> {
    const { broker } = this.options;
    const envelopes = all.some((e) => broadcastChannelOf(e) !== undefined) ? await this.broadcast(all) : all;
    if (envelopes.length === 0) return;
    if (this.folded) return this.publishFolded(this.folded, envelopes, batch);
    try {
      await this.recordQueued(envelopes);
    } catch (error) {
      // NOTE: the broker was not asked yet, so nothing was enqueued whatever the backend stored.
      await this.recordPublishFailure(envelopes, error);
      throw this.failure(envelopes, error, true);
    }
    try {
      if (batch && broker.publishBatch) await broker.publishBatch(envelopes);
      else for (const envelope of envelopes) await broker.publish(envelope);
    } catch (error) {
      const certain = publishCertainlyFailed(error);
      // NOTE: when the outcome is unknown the `queued` status stays: a task that did get enqueued
      // runs and reports, so a "failed" written now would end waits on a task that is running.
      // Follow-ups still record the failure, which is how a redelivery knows to publish them again.
      await this.recordPublishFailure(certain ? envelopes : envelopes.filter(isFollowUp), error);
      throw this.failure(envelopes, error, certain);
    }
  }

  /** Broadcasts the routed-to-broadcast envelopes (no status: each worker's copy has its own); returns the others. */
  private async broadcast(envelopes: readonly Envelope[]): Promise<Envelope[]> {
    const queued: Envelope[] = [];
    for (const envelope of envelopes) {
      const channel = broadcastChannelOf(envelope);
      if (channel === undefined) {
        queued.push(envelope);
        continue;
      }
      try {
        await publishBroadcast(this.options.broker, envelope, channel);
      } catch (error) {
        throw this.failure([envelope], error, publishCertainlyFailed(error));
      }
    }
    return queued;
  }

  /** Status and publish in one atomic step per call: a failure is certain or unknown for both alike. */
  private async publishFolded(folded: QueuedPublish, envelopes: readonly Envelope[], batch: boolean): Promise<void> {
    try {
      if (batch || envelopes.length === 1) await folded.publish(envelopes, this.options.resultTtl);
      else for (const envelope of envelopes) await folded.publish([envelope], this.options.resultTtl);
    } catch (error) {
      const certain = publishCertainlyFailed(error);
      await this.recordPublishFailure(certain ? envelopes : envelopes.filter(isFollowUp), error);
      throw this.failure(envelopes, error, certain);
    }
  }

  /** Publishes inside the caller's transaction (status too, when the backend can join it). */
  async publishInTransaction(envelope: Envelope, transaction: unknown): Promise<void> {
    const { broker, backend } = this.options;
    if (!isTransactionalBroker(broker)) {
      throw new ConfigurationError(
        'transaction',
        `task "${envelope.name}": the ${broker.name} broker cannot publish inside your transaction; use a postgres:// broker, or enqueue after COMMIT`,
      );
    }
    if (envelope.meta[UniqueMeta.key] !== undefined) {
      throw new ConfigurationError('transaction', `task "${envelope.name}" is unique; its lock cannot follow your transaction, so enqueue it after COMMIT`);
    }
    const tx = transaction as never;
    // NOTE: a status written outside the transaction would outlive a rollback, so it is written
    // only when the backend can join the transaction; otherwise the worker writes the first one.
    if (backend && isTransactionalResultBackend(backend)) {
      await backend.setWith(
        tx,
        envelope.id,
        { state: 'queued', attempt: 0, name: envelope.name, queue: envelope.queue, meta: { ...envelope.meta }, args: envelope.args },
        this.queuedOptions(),
      );
    }
    await broker.publishWith(tx, envelope);
  }

  /**
   * Replays dead letters of a queue: each is re-signed (when this producer signs), recorded
   * `queued` again, and published with `attempt + 1`.
   */
  async replayDeadLetters(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const { broker, backend, signer, resultTtl } = this.options;
    // NOTE: new trace headers would break the signature of a producer that cannot sign again.
    const tracing = signer && !signer.canSign ? undefined : this.options.tracing;
    const sends: SendSpan[] = [];
    const own = options.transform;
    const transform = (envelope: Envelope): Envelope => {
      let replayed = own ? own(envelope) : envelope;
      const send = tracing?.startReplay(replayed);
      if (send) {
        sends.push(send);
        replayed = send.envelope;
      }
      return signer?.canSign ? signer.sign(replayed) : replayed;
    };
    let result: ReplayResult;
    try {
      result = await requireBrokerCapability(broker, 'dead-letter-admin', `replay dead letters of queue "${queue}"`).replayDeadLetters(queue, {
        ...options,
        ...(tracing || signer?.canSign ? { transform } : {}),
      });
    } catch (error) {
      for (const send of sends) send.end(error);
      throw error;
    }
    for (const send of sends) send.end();
    if (!result.dryRun && backend) {
      await Promise.all(
        result.entries.map(({ envelope: e }) =>
          backend.set(
            e.id,
            { state: 'queued', attempt: e.attempt + 1, name: e.name, queue: e.queue, meta: { [StemMeta.replayedFrom]: 'dead-letters' } },
            // NOTE: written after the publish, so a worker may have run the replayed attempt already; its status is kept.
            { unlessAttemptReached: true, ...(resultTtl !== undefined ? { ttl: resultTtl } : {}) },
          ),
        ),
      );
    }
    return result;
  }

  private queuedOptions(): SetStatusOptions {
    const ttl = this.options.resultTtl;
    return { unlessTerminal: true, ...(ttl !== undefined ? { ttl } : {}) };
  }

  private async recordQueued(envelopes: readonly Envelope[]): Promise<void> {
    const { backend } = this.options;
    if (!backend) return;
    const options = this.queuedOptions();
    await Promise.all(envelopes.map((e) => backend.set(e.id, { state: 'queued', attempt: 0, name: e.name, queue: e.queue, meta: { ...e.meta }, args: e.args }, options)));
  }

  private async recordPublishFailure(envelopes: readonly Envelope[], error: unknown): Promise<void> {
    const { backend } = this.options;
    if (!backend) return;
    await Promise.all(
      envelopes.map((e) => {
        // NOTE: a canvas follow-up is published again when the worker's delivery is redelivered, so
        // its status says "retried", not a final "failed" that would end every wait on it.
        const followUp = isFollowUp(e);
        const message = String((error as Error)?.message ?? error);
        return backend.set(e.id, { state: followUp ? 'retried' : 'failed', attempt: 0, error: { type: 'PublishError', message, retryable: followUp } }).catch(() => undefined);
      }),
    );
  }

  private failure(envelopes: readonly Envelope[], error: unknown, certain: boolean): PublishError {
    const name = distinct(envelopes.map((e) => e.name));
    const queue = distinct(envelopes.map((e) => e.queue));
    return certain
      ? new PublishError(name, queue, error)
      : new PublishOutcomeUnknownError(
          name,
          queue,
          envelopes.map((e) => e.id),
          error,
        );
  }
}
