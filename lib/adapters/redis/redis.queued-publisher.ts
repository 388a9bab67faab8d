import type { QueuedPublish } from '../../core/contracts/queued-publish.js';
import type { SetStatusOptions } from '../../core/contracts/result-backend.js';
import type { Envelope } from '../../core/envelope.js';
import { RedisPartialPublishError } from './redis-partial-publish.error.js';
import { encodeEnvelope, leaseField, priorityOf, queueScriptKeys } from './redis-envelope.codec.js';
import type { RedisKeys } from './redis.keys.js';
import { encodeStatusWrite, packable, packedStatusHead, packStatusWrite, type RedisStatusTarget } from './redis.status-write.js';
import { scripts } from './scripts/index.js';

/**
 * Envelopes per publish-queued call: keeps each script short, so other clients are not held up,
 * and lets Redis run one chunk while the next one is still being written to the socket.
 */
const CHUNK = 250;

/**
 * Publishes envelopes with their `queued` statuses in one script call per queue and chunk
 * (publish-queued): one round trip for one enqueue, and the chunks of a batch are pipelined.
 */
export class QueuedPublisher implements QueuedPublish {
  constructor(
    private readonly target: RedisStatusTarget & { publishBatch(envelopes: readonly Envelope[]): Promise<void> },
    private readonly keys: RedisKeys,
    private readonly assertOpen: () => void,
  ) {}

  async publish(envelopes: readonly Envelope[], ttl: number | undefined): Promise<void> {
    this.assertOpen();
    const options = ttl !== undefined ? { unlessTerminal: true, ttl } : { unlessTerminal: true };
    const calls: { keys: string[]; args: (string | number)[]; count: number }[] = [];
    const byQueue = new Map<string, { keys: string[]; args: (string | number)[]; count: number }>();
    const now = Date.now();
    // NOTE: every status is encoded before anything is sent, so a status that cannot be stored
    // fails the publish while nothing is stored yet.
    for (const e of envelopes) {
      const write = encodeStatusWrite(
        e.id,
        { state: 'queued', attempt: 0, name: e.name, queue: e.queue, meta: e.meta, args: e.args },
        options,
        this.target.defaultTtl,
        this.target.argsLimit,
      );
      let call = byQueue.get(e.queue);
      if (!call || call.count === CHUNK) {
        call = {
          keys: [...queueScriptKeys(this.keys.queue(e.queue)), this.target.keys.statusIndexQueues, this.target.keys.statusWatching, this.keys.queueNames],
          args: [],
          count: 0,
        };
        call.args.push(...packedStatusHead(this.target, now));
        byQueue.set(e.queue, call);
        calls.push(call);
      }
      if (!packable(write)) return this.publishUnpacked(envelopes, options);
      call.args.push(packStatusWrite(write), priorityOf(e), leaseField(e), encodeEnvelope(e), e.notBefore ?? 0);
      call.count++;
    }
    if (calls.length === 1) {
      await scripts.publishQueued.run(this.target.connection, calls[0]!.keys, calls[0]!.args);
      return;
    }
    const results = await Promise.allSettled(calls.map((c) => scripts.publishQueued.run(this.target.connection, c.keys, c.args)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length === 0) return;
    if (failed.length === results.length) throw failed[0]!.reason;
    const count = (status: string) => calls.reduce((n, c, i) => n + (results[i]!.status === status ? c.count : 0), 0);
    throw new RedisPartialPublishError(count('fulfilled'), count('rejected'), failed[0]!.reason);
  }

  /** A status that cannot be packed (U+001F in its id, name, queue or a meta key): the status first, then the publish. */
  private async publishUnpacked(envelopes: readonly Envelope[], options: SetStatusOptions): Promise<void> {
    await Promise.all(envelopes.map((e) => this.target.set(e.id, { state: 'queued', attempt: 0, name: e.name, queue: e.queue, meta: e.meta, args: e.args }, options)));
    await this.target.publishBatch(envelopes);
  }
}
