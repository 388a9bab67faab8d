import type { Broker, Consumer, Delivery } from '../contracts/broker.js';

/**
 * The worker's subscription to its queues, of which only the active ones are fetched from:
 * changing them closes the broker consumer and opens one on the new set (a pending fetch ends
 * with nothing), and with no active queue `fetch` waits until one is set again.
 */
export class QueueSubscription {
  private consumer?: Consumer;
  private active: readonly string[];
  private change = new AbortController();
  private closed = false;
  private fetchSignal?: { stop: AbortSignal; change: AbortSignal; either: AbortSignal };

  constructor(
    private readonly broker: Broker,
    private readonly consumerName: string,
    private readonly defaultVisibilityTimeout: number,
    readonly queues: readonly string[],
  ) {
    this.active = queues;
  }

  /** The queues fetched from now. */
  get activeQueues(): readonly string[] {
    return this.active;
  }

  /** Fetches only from `queues` (each one of `queues` given at construction) from the next fetch on. */
  setActive(queues: readonly string[]): void {
    const next = this.queues.filter((q) => queues.includes(q));
    if (next.length === this.active.length && next.every((q) => this.active.includes(q))) return;
    this.active = next;
    const old = this.consumer;
    this.consumer = undefined;
    this.change.abort();
    this.change = new AbortController();
    // NOTE: closing a consumer never touches the deliveries it handed out; acks go through the broker.
    void old?.close().catch(() => undefined);
  }

  /** Up to `max` deliveries from the active queues, or `[]` when `stop` aborts or the queues change. */
  async fetch(max: number, stop: AbortSignal): Promise<Delivery[]> {
    if (this.closed || stop.aborted) return [];
    const change = this.change.signal;
    if (this.active.length === 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stop.removeEventListener('abort', done);
          change.removeEventListener('abort', done);
          resolve();
        };
        stop.addEventListener('abort', done, { once: true });
        change.addEventListener('abort', done, { once: true });
      });
      return [];
    }
    this.consumer ??= this.broker.consume({ queues: this.active, consumerName: this.consumerName, defaultVisibilityTimeout: this.defaultVisibilityTimeout });
    return this.consumer.fetch(max, this.either(stop, change));
  }

  /** One signal for `stop` or `change`, reused while both stay the same (a fetch runs per freed slot). */
  private either(stop: AbortSignal, change: AbortSignal): AbortSignal {
    const cached = this.fetchSignal;
    if (cached && cached.stop === stop && cached.change === change) return cached.either;
    const either = AbortSignal.any([stop, change]);
    this.fetchSignal = { stop, change, either };
    return either;
  }

  /** Closes the consumer. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.change.abort();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.close();
  }
}
