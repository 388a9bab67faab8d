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
  /**
   * Runs this instance is ending now: how many of its ends in flight announce themselves on the
   * channel (a retry does not), and how many announcements arrived meanwhile. Up to that many
   * announcements read nothing (the listeners hear those ends from the write itself); any more
   * come from another process, and the run is read once the ends are over (so that read, not
   * an end's own older reply, is the last the listeners hear).
   */
  private readonly ending = new Map<string, { announcing: number; heard: number; inFlight: number; missed: boolean }>();

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
   * announcement of that end on the channel (`announces`: a terminal end publishes one, a retry
   * none), which may arrive before the reply, reads nothing; another process's change announced
   * meanwhile is still read.
   * An end that threw may still have happened: the listeners get the run as it is then.
   */
  async endingHere<T>(runId: string, announces: boolean, end: () => Promise<T>): Promise<T> {
    let slot = this.ending.get(runId);
    if (!slot) this.ending.set(runId, (slot = { announcing: 0, heard: 0, inFlight: 0, missed: false }));
    slot.inFlight++;
    if (announces) slot.announcing++;
    try {
      return await end();
    } catch (error) {
      void this.watchers.refresh(runId, true);
      throw error;
    } finally {
      if (--slot.inFlight === 0) {
        this.ending.delete(runId);
        if (slot.missed) void this.watchers.refresh(runId, true);
      }
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
        const slot = this.ending.get(id);
        if (!slot) void this.watchers.refresh(id, true);
        else if (slot.heard < slot.announcing) slot.heard++;
        else slot.missed = true;
      })
      .catch((error: unknown) => {
        // NOTE: rejected, so the watchers do not take the channel for listening.
        this.subscription = undefined;
        throw error;
      });
    return this.subscription;
  }
}
