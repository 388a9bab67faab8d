import type { Clock } from '../../core/utils/clock.js';
import type { RunState } from '../../core/workflow/run-state.js';
import { RunWatchers } from '../../core/workflow/run-watchers.js';
import type { RunChangeListener } from '../../core/workflow/workflow-store.js';
import type { PostgresContext } from './postgres.connection.js';

/**
 * `watch` of the Postgres workflow store: listeners hear this instance's writes at once, other
 * processes' ends and rewinds through NOTIFY on the store's channel (payload: the run id), and
 * anything missed (a dropped LISTEN connection) through a reconnect catch-up and a poll every
 * `pollInterval` ms while someone watches.
 */
export class PostgresWorkflowWatch {
  private readonly watchers: RunWatchers;
  private listening: Promise<unknown> | undefined;
  private stopListening: (() => void) | undefined;
  private removeReconnectHook: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly ctx: PostgresContext,
    private readonly channel: string,
    clock: Clock,
    pollInterval: number,
    read: (runId: string) => Promise<RunState | null>,
  ) {
    this.watchers = new RunWatchers({
      clock,
      pollInterval,
      read,
      connect: () => this.listen(),
      onConnectError: (error) => this.ctx.logger.warn(`Could not LISTEN on "${this.channel}"; workflow runs are watched by polling`, error),
    });
  }

  watch(runId: string, listener: RunChangeListener): () => void {
    return this.watchers.watch(runId, listener);
  }

  /** A write of this instance changed the run: tell its listeners. */
  changedHere(runId: string, state?: RunState): void {
    this.watchers.changedHere(runId, state);
  }

  close(): void {
    this.closed = true;
    this.watchers.close();
    this.stopListening?.();
    this.removeReconnectHook?.();
  }

  private listen(): Promise<unknown> {
    this.listening ??= this.ctx.notifier
      .listen(this.channel, (runId) => void this.watchers.refresh(runId, true))
      .then((stop) => {
        // NOTE: closed while LISTEN was being set up: stop at once instead of keeping the hooks.
        if (this.closed) return stop();
        this.stopListening = stop;
        this.removeReconnectHook = this.ctx.notifier.onReconnect(() => this.watchers.refreshAll());
      });
    this.listening.catch(() => {
      this.listening = undefined;
    });
    return this.listening;
  }
}
