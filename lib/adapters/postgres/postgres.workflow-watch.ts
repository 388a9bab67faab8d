import type { Clock, TimerHandle } from '../../core/utils/clock.js';
import type { RunState } from '../../core/workflow/run-state.js';
import type { RunChangeListener } from '../../core/workflow/workflow-store.js';
import type { PostgresContext } from './postgres.connection.js';

interface Watched {
  readonly listeners: Set<RunChangeListener>;
  timer?: TimerHandle;
  /** `status@updatedAt@cursor` last handed to the listeners. */
  seen?: string;
}

/**
 * `watch` of the Postgres workflow store: listeners hear this instance's writes at once, other
 * processes' ends and rewinds through NOTIFY on the store's channel (payload: the run id), and
 * anything missed (a dropped LISTEN connection) through a reconnect catch-up and a poll every
 * `pollInterval` ms while someone watches.
 */
export class PostgresWorkflowWatch {
  private readonly watched = new Map<string, Watched>();
  private listening: Promise<unknown> | undefined;
  private stopListening: (() => void) | undefined;
  private removeReconnectHook: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly ctx: PostgresContext,
    private readonly channel: string,
    private readonly clock: Clock,
    private readonly pollInterval: number,
    private readonly read: (runId: string) => Promise<RunState | null>,
  ) {}

  watch(runId: string, listener: RunChangeListener): () => void {
    let entry = this.watched.get(runId);
    if (!entry) {
      const created: Watched = { listeners: new Set() };
      entry = created;
      this.watched.set(runId, created);
      this.listen().then(
        () => void this.refresh(runId, false),
        (error: unknown) => this.ctx.logger.warn(`Could not LISTEN on "${this.channel}"; workflow runs are watched by polling`, error),
      );
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

  /** A write of this instance changed the run: tell its listeners. */
  changedHere(runId: string, state?: RunState): void {
    const entry = this.watched.get(runId);
    if (!entry) return;
    if (state) this.deliver(entry, state, true);
    else void this.refresh(runId, true);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.watched.values()) entry.timer?.cancel();
    this.watched.clear();
    this.stopListening?.();
    this.removeReconnectHook?.();
  }

  private listen(): Promise<unknown> {
    this.listening ??= this.ctx.notifier
      .listen(this.channel, (runId) => void this.refresh(runId, true))
      .then((stop) => {
        this.stopListening = stop;
        this.removeReconnectHook = this.ctx.notifier.onReconnect(() => {
          for (const runId of this.watched.keys()) void this.refresh(runId, false);
        });
      });
    this.listening.catch(() => {
      this.listening = undefined;
    });
    return this.listening;
  }

  private schedulePoll(runId: string, entry: Watched): void {
    if (this.pollInterval <= 0 || this.closed) return;
    entry.timer = this.clock.setTimeout(() => {
      if (this.watched.get(runId) !== entry) return;
      void this.refresh(runId, false).finally(() => this.schedulePoll(runId, entry));
    }, this.pollInterval);
  }

  private async refresh(runId: string, always: boolean): Promise<void> {
    if (this.closed || !this.watched.has(runId)) return;
    const state = await this.read(runId).catch(() => null);
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
