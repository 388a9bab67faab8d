import type { Clock, TimerHandle } from '../utils/clock.js';
import type { RunState } from './run-state.js';
import type { RunChangeListener } from './workflow-store.js';

/** What a {@link RunWatchers} needs from its store. */
export interface RunWatchersOptions {
  readonly clock: Clock;
  /** Period of the fallback poll of each watched run, ms; 0 turns it off. */
  readonly pollInterval: number;
  /** Reads a run as the store has it now. */
  read(runId: string): Promise<RunState | null>;
  /** Starts the store's cross-process change channel (idempotent); resolves once it listens. */
  connect(): Promise<unknown>;
  /** The channel could not be started: watching goes on by polling. */
  onConnectError?(error: unknown): void;
}

interface Watched {
  readonly listeners: Set<RunChangeListener>;
  timer?: TimerHandle;
  /** `status@updatedAt@cursor` last handed to the listeners. */
  seen?: string;
}

/**
 * The listeners of a shared store's `watch`: writes of this instance reach them at once
 * ({@link changedHere}), other processes' changes through the store's channel (which calls
 * {@link refresh}), and anything missed (a dropped message, a reconnect) through a poll every
 * `pollInterval` ms while someone watches. A listener hears each state once.
 */
export class RunWatchers {
  private readonly watched = new Map<string, Watched>();
  private closed = false;
  /** Whether the store's change channel answered a connect (it listens from then on, or polling covers it). */
  private listening = false;

  constructor(private readonly options: RunWatchersOptions) {}

  /** Adds a listener of `runId`; returns its removal. */
  watch(runId: string, listener: RunChangeListener): () => void {
    let entry = this.watched.get(runId);
    if (!entry) {
      const created: Watched = { listeners: new Set() };
      entry = created;
      this.watched.set(runId, created);
      // NOTE: once the channel listens, a change after this call reaches the listener through it,
      // and what came before is the caller's to read (as `waitForCompletion` does after watching):
      // only a watch that may have started before the channel listened reads the run again. A
      // store's connect, once it answered, answers the same from then on: later watches skip it.
      if (!this.listening) {
        this.options.connect().then(
          () => {
            this.listening = true;
            void this.refresh(runId, false);
          },
          (error: unknown) => this.options.onConnectError?.(error),
        );
      }
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

  /** A write of this instance changed the run: tell its listeners (reading it when `state` is not given). */
  changedHere(runId: string, state?: RunState | null): void {
    const entry = this.watched.get(runId);
    if (!entry) return;
    if (state) this.deliver(entry, state, true);
    else void this.refresh(runId, true);
  }

  /** Reads the run and tells its listeners; `always` even when they have seen that state. */
  async refresh(runId: string, always: boolean): Promise<void> {
    if (this.closed || !this.watched.has(runId)) return;
    const state = await this.options.read(runId).catch(() => null);
    const entry = this.watched.get(runId);
    if (state && entry) this.deliver(entry, state, always);
  }

  /** Refreshes every watched run (after the channel reconnected). */
  refreshAll(): void {
    for (const runId of this.watched.keys()) void this.refresh(runId, false);
  }

  /** Stops the polls and drops every listener. */
  close(): void {
    this.closed = true;
    for (const entry of this.watched.values()) entry.timer?.cancel();
    this.watched.clear();
  }

  private schedulePoll(runId: string, entry: Watched): void {
    if (this.options.pollInterval <= 0 || this.closed) return;
    entry.timer = this.options.clock.setTimeout(() => {
      if (this.watched.get(runId) !== entry) return;
      void this.refresh(runId, false).finally(() => this.schedulePoll(runId, entry));
    }, this.options.pollInterval);
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
