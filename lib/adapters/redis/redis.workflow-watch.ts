import type { RunState } from '../../core/workflow/run-state.js';
import { RunWatchers } from '../../core/workflow/run-watchers.js';
import type { RunChangeListener } from '../../core/workflow/workflow-store.js';
import type { RedisSubscriber } from './redis.subscriber.js';
import type { RedisWorkflowContext } from './redis.workflow-context.js';

/**
 * `watch` of the Redis workflow store: listeners hear this instance's writes at once, other
 * processes' ends and rewinds through the store's pub/sub channel (one subscription per store,
 * the message is the run id), and anything else (a missed message, a reconnect) through a poll
 * every `pollInterval` ms while someone watches.
 */
export class RedisWorkflowWatch {
  private readonly watchers: RunWatchers;
  private subscription: Promise<unknown> | undefined;
  /** Runs this instance is ending now, by how many ends are in flight: their listeners hear the end from the write itself. */
  private readonly ending = new Map<string, number>();

  constructor(
    private readonly ctx: RedisWorkflowContext,
    private readonly subscriber: RedisSubscriber,
    pollInterval: number,
  ) {
    this.watchers = new RunWatchers({ clock: ctx.clock, pollInterval, read: (runId) => ctx.readRun(runId), connect: () => this.subscribe() });
  }

  watch(runId: string, listener: RunChangeListener): () => void {
    return this.watchers.watch(runId, listener);
  }

  /** A write of this instance changed the run: tell its listeners (the end and rewind scripts announce to other processes). */
  changedHere(runId: string, state?: RunState | null): void {
    this.watchers.changedHere(runId, state);
  }

  /**
   * Runs `end`, an end of `runId` by this instance that reports to the listeners itself: the
   * announcement of that end on the channel, which may arrive before the reply, reads nothing.
   * An end that threw may still have happened: the listeners get the run as it is then.
   */
  async endingHere<T>(runId: string, end: () => Promise<T>): Promise<T> {
    this.ending.set(runId, (this.ending.get(runId) ?? 0) + 1);
    try {
      return await end();
    } catch (error) {
      void this.watchers.refresh(runId, true);
      throw error;
    } finally {
      const left = this.ending.get(runId)! - 1;
      if (left === 0) this.ending.delete(runId);
      else this.ending.set(runId, left);
    }
  }

  async close(): Promise<void> {
    this.watchers.close();
    await this.subscriber.close();
  }

  /** One subscription per store; a failed one is tried again by the next watch (polling covers the gap). */
  private subscribe(): Promise<unknown> {
    this.subscription ??= this.subscriber
      .subscribe(this.ctx.keys.changed, (id) => {
        if (!this.ending.has(id)) void this.watchers.refresh(id, true);
      })
      .catch(() => {
        this.subscription = undefined;
      });
    return this.subscription;
  }
}
