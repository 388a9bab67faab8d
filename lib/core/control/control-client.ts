import type { ControlStore, RevokeEntry, WorkerHeartbeat } from '../contracts/control-store.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { parseRateLimit } from '../rate-limit.js';
import { type Clock, systemClock } from '../utils/clock.js';
import type { ShutdownMode } from '../worker/worker.options.js';
import type { ControlChannel } from './control-channel.js';
import type { ControlReply, ControlRequestOptions } from './control.messages.js';
import type { InspectReply, PauseReply, PingReply, RevokeReply, ShutdownReply, StatsReply } from './control.replies.js';

/** Revocations expire after this long unless `expiresIn` says otherwise (7 days), in ms. */
export const DEFAULT_REVOKE_TTL_MS = 7 * 24 * 3_600_000;

/** Options of {@link ControlClient.revoke}. */
export interface RevokeOptions extends ControlRequestOptions {
  /** Also stop the task if it is running (abort `ctx.signal`, then free the slot after the grace period). @default false */
  readonly terminate?: boolean;
  readonly reason?: string;
  /** Ms until the revocation lapses and may be pruned. @default 7 days */
  readonly expiresIn?: number;
}

/** A command that is persisted first: how many entries were written, and the workers' replies. */
export interface PersistedCommandResult<R> {
  readonly persisted: number;
  readonly replies: readonly ControlReply<R>[];
}

/** Options of a {@link ControlClient}. */
export interface ControlClientOptions {
  /** Where commands go; without one, only persisted commands (revoke, pause, resume) and `listWorkers` work. */
  readonly channel?: ControlChannel;
  /** Revocations, paused queues and heartbeats. */
  readonly store?: ControlStore;
  /** Recorded as `stem.revoked.by` and `requestedBy`. @default `<host>:<pid>` of the caller */
  readonly requestedBy?: string;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Talks to workers: `ping`, `stats` and `inspect` resolve to one reply per answering worker;
 * `revoke`, `pause` and `resume` are written to the store first (so they hold for workers that
 * are down or miss the broadcast) and then broadcast; `shutdown`, `setConcurrency` and
 * `rateLimit` act on live workers; `listWorkers` reads the heartbeats.
 *
 * @example
 * const control = new ControlClient({ channel: new BroadcastControlChannel(broker), store });
 * const replies = await control.ping({ timeout: 500 });
 * await control.revoke([taskId], { terminate: true, reason: 'duplicate order' });
 */
export class ControlClient {
  private readonly clock: Clock;
  private readonly requestedBy: string;
  private lastVersion = 0;

  constructor(private readonly options: ControlClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.requestedBy = options.requestedBy ?? `pid:${process.pid}`;
  }

  /** One reply per answering worker. */
  ping(options?: ControlRequestOptions): Promise<ControlReply<PingReply>[]> {
    return this.channel('ping').request('ping', {}, options) as Promise<ControlReply<PingReply>[]>;
  }

  /** Counters, concurrency, prefetch, uptime, memory, pid, host, queues and version of each worker. */
  stats(options?: ControlRequestOptions): Promise<ControlReply<StatsReply>[]> {
    return this.channel('stats').request('stats', {}, options) as Promise<ControlReply<StatsReply>[]>;
  }

  /** Active and prefetched tasks, revocations and paused queues of each worker. */
  inspect(options?: ControlRequestOptions): Promise<ControlReply<InspectReply>[]> {
    return this.channel('inspect').request('inspect', {}, options) as Promise<ControlReply<InspectReply>[]>;
  }

  /**
   * Revokes tasks: writes the revocations to the store, then tells the workers, which re-read it.
   * A revoked task that has not run yet never runs; with `terminate` a running one is stopped.
   */
  async revoke(taskIds: readonly string[], options: RevokeOptions = {}): Promise<PersistedCommandResult<RevokeReply>> {
    const store = this.store('revoke');
    const now = this.clock.now();
    const ids = [...new Set(taskIds)];
    if (ids.length === 0) throw new ConfigurationError('taskIds', 'revoke needs at least one task id');
    const expiresIn = options.expiresIn ?? DEFAULT_REVOKE_TTL_MS;
    if (!(expiresIn > 0)) throw new ConfigurationError('expiresIn', `got ${expiresIn}; pass a positive number of ms`);
    const entries: RevokeEntry[] = ids.map((taskId) => ({
      taskId,
      version: this.nextVersion(),
      issuedAt: now,
      terminate: options.terminate ?? false,
      ...(options.reason ? { reason: options.reason } : {}),
      requestedBy: this.requestedBy,
      expiresAt: now + expiresIn,
    }));
    const persisted = await store.upsertRevokes(entries);
    await store.pruneRevokes(now);
    const replies = this.options.channel ? await this.options.channel.request('revoke', { taskIds: ids.slice(0, 20) }, options) : [];
    return { persisted, replies: replies as ControlReply<RevokeReply>[] };
  }

  /** Pauses a queue for every worker, now and after restarts: it is not fetched from; running tasks finish. */
  pause(queue: string, options?: ControlRequestOptions): Promise<PersistedCommandResult<PauseReply>> {
    return this.setPaused(queue, true, options);
  }

  /** Resumes a paused queue. */
  resume(queue: string, options?: ControlRequestOptions): Promise<PersistedCommandResult<PauseReply>> {
    return this.setPaused(queue, false, options);
  }

  /** Stops workers (`warm` drains, `soft` aborts signals then requeues after the grace period, `hard` requeues at once). */
  shutdown(options: ControlRequestOptions & { readonly mode?: ShutdownMode } = {}): Promise<ControlReply<ShutdownReply>[]> {
    return this.channel('shutdown').request('shutdown', { mode: options.mode ?? 'warm' }, options) as Promise<ControlReply<ShutdownReply>[]>;
  }

  /** Changes the concurrency of live workers (not persisted). */
  setConcurrency(concurrency: number, options?: ControlRequestOptions): Promise<ControlReply<StatsReply>[]> {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigurationError('concurrency', `got ${concurrency}; pass a whole number of 1 or more`);
    return this.channel('setConcurrency').request('set-concurrency', { concurrency }, options) as Promise<ControlReply<StatsReply>[]>;
  }

  /** Sets a task's rate limit (`'10/s'`, `null` lifts it) in live workers (not persisted). */
  rateLimit(task: string, limit: string | null, options?: ControlRequestOptions): Promise<ControlReply[]> {
    if (limit !== null) parseRateLimit(limit, task);
    return this.channel('rateLimit').request('rate-limit', { task, limit }, options);
  }

  /** Live workers, from their heartbeats. */
  listWorkers(): Promise<WorkerHeartbeat[]> {
    return this.store('listWorkers').listHeartbeats();
  }

  private async setPaused(queue: string, paused: boolean, options?: ControlRequestOptions): Promise<PersistedCommandResult<PauseReply>> {
    if (!queue) throw new ConfigurationError('queue', `${paused ? 'pause' : 'resume'} needs a queue name`);
    const written = await this.store(paused ? 'pause' : 'resume').setQueuePause({
      queue,
      paused,
      version: this.nextVersion(),
      updatedAt: this.clock.now(),
      requestedBy: this.requestedBy,
    });
    const replies = this.options.channel ? await this.options.channel.request(paused ? 'pause' : 'resume', { queue }, options) : [];
    return { persisted: written ? 1 : 0, replies: replies as ControlReply<PauseReply>[] };
  }

  /** Epoch µs, strictly increasing within this client. */
  private nextVersion(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, this.clock.now() * 1_000);
    return this.lastVersion;
  }

  private channel(command: string): ControlChannel {
    if (!this.options.channel) throw new ConfigurationError('channel', `${command} needs a control channel; use a broker with the broadcast capability (memory, Redis, Postgres)`);
    return this.options.channel;
  }

  private store(command: string): ControlStore {
    if (!this.options.store)
      throw new ConfigurationError('revokeStore', `${command} needs a revoke store; use a backend that has one (memory, Redis, Postgres) or pass revokeStore`);
    return this.options.store;
  }
}
