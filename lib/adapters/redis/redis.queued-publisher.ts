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
/** Ends an envelope's record in the publish-queued argument (ASCII record separator). */
const RECORD = '\x1e';
/** Separates the fields of a record (ASCII group separator). */
const FIELD = '\x1d';

/** One publish-queued call: a queue and the records of up to {@link CHUNK} of its envelopes. */
interface Call {
  readonly queue: string;
  records: string;
  count: number;
}

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
    const calls: Call[] = [];
    const byQueue = new Map<string, Call>();
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
      if (!packable(write)) return this.publishUnpacked(envelopes, options);
      const status = packStatusWrite(write);
      // NOTE: JSON escapes control characters, so only an id, name, queue or meta key can hold a separator.
      if (status.includes(RECORD) || status.includes(FIELD)) return this.publishUnpacked(envelopes, options);
      let call = byQueue.get(e.queue);
      if (!call || call.count === CHUNK) {
        call = { queue: e.queue, records: '', count: 0 };
        byQueue.set(e.queue, call);
        calls.push(call);
      }
      const notBefore = e.notBefore ?? 0;
      call.records += `${priorityOf(e)}${FIELD}${leaseField(e)}${FIELD}${notBefore}${FIELD}${status}${FIELD}${encodeEnvelope(e)}${RECORD}`;
      call.count++;
    }
    const head = packedStatusHead(this.target, Date.now());
    const run = (c: Call) =>
      scripts.publishQueued.run(
        this.target.connection,
        [...queueScriptKeys(this.keys.queue(c.queue)), this.target.keys.statusIndexQueues, this.target.keys.statusWatching, this.keys.queueNames],
        [...head, c.records],
      );
    if (calls.length === 1) {
      await run(calls[0]!);
      return;
    }
    const results = await Promise.allSettled(calls.map(run));
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
