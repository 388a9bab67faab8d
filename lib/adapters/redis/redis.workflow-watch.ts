import type { TimerHandle } from '../../core/utils/clock.js';
import type { RunChangeListener } from '../../core/workflow/workflow-store.js';
import type { RunState } from '../../core/workflow/run-state.js';
import type { RedisSubscriber } from './redis.subscriber.js';
import type { RedisWorkflowContext } from './redis.workflow-context.js';

interface Watched {
  readonly listeners: Set<RunChangeListener>;
  timer?: TimerHandle;
  /** `status@updatedAt` last handed to the listeners. */
  seen?: string;
}

/**
 * `watch` of the Redis workflow store: listeners hear this instance's writes at once, other
 * processes' ends and rewinds through the store's pub/sub channel (one subscription per store,
 * the message is the run id), and anything else (a missed message, a reconnect) through a poll
 * every `pollInterval` ms while someone watches.
 */
export class RedisWorkflowWatch {
  private readonly watched = new Map<string, Watched>();
  private subscription: Promise<unknown> | undefined;
  private closed = false;

  constructor(
    private readonly ctx: RedisWorkflowContext,
    private readonly subscriber: RedisSubscriber,
    private readonly pollInterval: number,
  ) {}

  watch(runId: string, listener: RunChangeListener): () => void {
    let entry = this.watched.get(runId);
    if (!entry) {
      const created: Watched = { listeners: new Set() };
      entry = created;
      this.watched.set(runId, created);
      this.subscription ??= this.subscriber
        .subscribe(this.ctx.keys.changed, (id) => void this.refresh(id, true))
        .catch(() => {
          this.subscription = undefined;
        });
      void this.subscription.then(() => this.refresh(runId, false));
      this.schedulePoll(runId, created);
    }
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size > 0 || this.watched.get(runId) !== entry) return;
      this.watched.delete(runId);
      entry.timer?.cancel();
    };
  }

  /** A write of this instance changed the run: tell its listeners; `announce` publishes it to other processes. */
  changedHere(runId: string, state?: RunState | null, announce = false): void {
    if (announce) void this.ctx.connection.command('publish', this.ctx.keys.changed, runId).catch(() => undefined);
    const entry = this.watched.get(runId);
    if (!entry) return;
    if (state) this.deliver(entry, state, true);
    else void this.refresh(runId, true);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.watched.values()) entry.timer?.cancel();
    this.watched.clear();
    await this.subscriber.close();
  }

  private schedulePoll(runId: string, entry: Watched): void {
    if (this.pollInterval <= 0 || this.closed) return;
    entry.timer = this.ctx.clock.setTimeout(() => {
      if (this.watched.get(runId) !== entry) return;
      void this.refresh(runId, false).finally(() => this.schedulePoll(runId, entry));
    }, this.pollInterval);
  }

  private async refresh(runId: string, always: boolean): Promise<void> {
    if (this.closed || !this.watched.has(runId)) return;
    const state = await this.ctx.readRun(runId).catch(() => null);
    const entry = this.watched.get(runId);
    if (state && entry) this.deliver(entry, state, always);
  }

  private deliver(entry: Watched, state: RunState, always: boolean): void {
    const mark = `${state.status}@${state.updatedAt}@${state.cursor}`;
    if (!always && entry.seen === mark) return;
    entry.seen = mark;
    for (const listener of [...entry.listeners]) {
      try {
        listener(state);
      } catch {
        // NOTE: a listener's error belongs to the listener; the store's write already happened.
      }
    }
  }
}
