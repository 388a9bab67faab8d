import { hostname } from 'node:os';
import type { ControlStore, RevokeEntry, WorkerHeartbeat } from '../contracts/control-store.js';
import { parseRateLimit } from '../rate-limit.js';
import { type Clock, systemClock, type TimerHandle } from '../utils/clock.js';
import { TypedEmitter } from '../utils/typed-emitter.js';
import { STEM_VERSION } from '../version.js';
import type { TaskRun } from '../worker/task-executor.js';
import type { Worker } from '../worker/worker.js';
import type { ShutdownMode } from '../worker/worker.options.js';
import type { ControlChannel, ControlSubscription } from './control-channel.js';
import type { ControlPayloads, ControlRequest } from './control.messages.js';
import { INSPECT_LIST_LIMIT, type InspectReply, type PauseReply, type PingReply, type RevokeReply, type ShutdownReply, type StatsReply } from './control.replies.js';
import { RevocationExtension } from './revocation.extension.js';

/** Default interval of worker heartbeats (and of re-reading the store), in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

/** Replies are kept under this size so they fit one message on every channel (Postgres NOTIFY carries ~8 kB). */
const MAX_REPLY_CHARS = 6_000;

/** Heartbeats live this many intervals. */
export const HEARTBEAT_TTL_INTERVALS = 3;

/** Options of a {@link WorkerControl}. */
export interface WorkerControlOptions {
  /** Revocations, paused queues and heartbeats. */
  readonly store: ControlStore;
  /** Where commands arrive; without one the worker only follows the store. */
  readonly channel?: ControlChannel;
  /** Heartbeat interval in ms; heartbeats expire after 3 intervals. @default 5000 */
  readonly heartbeatInterval?: number;
  /** How often the store is read again, in ms. @default heartbeatInterval */
  readonly syncInterval?: number;
  /** Time a terminated task gets to honour `ctx.signal` before its slot is freed, in ms. @default 1000 */
  readonly terminateGracePeriod?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Events of a {@link WorkerControl}. */
export interface WorkerControlEvents {
  [event: string]: unknown[];
  /** A task was cancelled because it was revoked (before it ran, or terminated while running). */
  revoked: [run: TaskRun, entry: RevokeEntry];
  /** A `shutdown` command arrived; the worker closes in `mode`. */
  shutdown: [mode: ShutdownMode];
  /** Reading the store, a heartbeat or a reply failed; the worker keeps running. */
  error: [error: unknown];
}

/**
 * The worker side of the control plane: answers commands (ping, stats, inspect, revoke,
 * pause/resume, shutdown, setConcurrency, rateLimit), keeps revocations and paused queues in step
 * with the store (read at start and every `syncInterval`, and at once on a command), and writes a
 * heartbeat every `heartbeatInterval`. Revocation runs as the worker extension {@link extension}.
 *
 * @example
 * const control = new WorkerControl({ store, channel: new BroadcastControlChannel(broker) });
 * const worker = new Worker({ broker, backend, registry, extensions: [control.extension] });
 * await control.start(worker); // loads revocations and pauses before the first fetch
 * await worker.start();
 */
export class WorkerControl {
  /** Typed events. */
  readonly events = new TypedEmitter<WorkerControlEvents>();
  /** The revocation extension; pass it in the worker's `extensions`. */
  readonly extension: RevocationExtension;
  private readonly store: ControlStore;
  private readonly clock: Clock;
  private readonly heartbeatInterval: number;
  private readonly syncInterval: number;
  private worker?: Worker;
  private subscription?: ControlSubscription;
  private heartbeatTimer?: TimerHandle;
  private syncTimer?: TimerHandle;
  private paused: readonly string[] = [];
  private startedAt = 0;
  private stopping?: Promise<void>;

  constructor(private readonly options: WorkerControlOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.syncInterval = options.syncInterval ?? this.heartbeatInterval;
    this.extension = new RevocationExtension(this.clock, options.terminateGracePeriod, (run, entry) => this.events.emit('revoked', run, entry));
  }

  /**
   * Attaches to `worker` (built with {@link extension}) before it starts: reads the store, so
   * revocations and paused queues apply from the first fetch, subscribes to the channel and
   * starts heartbeats. Stops by itself when the worker closes.
   */
  async start(worker: Worker): Promise<void> {
    this.worker = worker;
    this.extension.kill = (taskId, error) => worker.terminate(taskId, error);
    this.startedAt = this.clock.now();
    await this.sync();
    this.subscription = await this.options.channel?.listen(worker.id, (request) => this.handle(request));
    worker.signals.on('worker-shutdown', () => void this.stop(), { filter: { workerId: worker.id }, once: true });
    await this.beat();
    this.scheduleSync();
  }

  /** Stops answering, heart-beating and syncing, and removes the heartbeat. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.heartbeatTimer?.cancel();
      this.syncTimer?.cancel();
      await this.subscription?.close().catch((error: unknown) => this.events.emit('error', error));
      if (this.worker) await this.store.removeHeartbeat(this.worker.id).catch((error: unknown) => this.events.emit('error', error));
    })();
    return this.stopping;
  }

  /** Reads revocations and pauses from the store and applies them; returns the ids terminated. */
  async sync(): Promise<string[]> {
    const [revokes, pauses] = await Promise.all([this.store.listRevokes(this.clock.now()), this.store.listQueuePauses()]);
    const worker = this.worker!;
    this.paused = pauses.filter((p) => p.paused && worker.queues.includes(p.queue)).map((p) => p.queue);
    worker.setConsumedQueues(worker.queues.filter((q) => !this.paused.includes(q)));
    return this.extension.replace(revokes);
  }

  private scheduleSync(): void {
    if (this.stopping) return;
    this.syncTimer = this.clock.setTimeout(() => {
      void this.sync()
        .catch((error: unknown) => this.events.emit('error', error))
        .finally(() => this.scheduleSync());
    }, this.syncInterval);
  }

  private async beat(): Promise<void> {
    if (this.stopping) return;
    try {
      const heartbeat = this.heartbeat();
      await this.store.recordHeartbeat(heartbeat, this.heartbeatInterval * HEARTBEAT_TTL_INTERVALS);
      this.worker!.signals.emit('worker-heartbeat', { workerId: heartbeat.workerId, heartbeat });
    } catch (error) {
      this.events.emit('error', error);
    }
    if (!this.stopping) this.heartbeatTimer = this.clock.setTimeout(() => void this.beat(), this.heartbeatInterval);
  }

  private heartbeat(): WorkerHeartbeat {
    const stats = this.worker!.stats();
    return {
      workerId: stats.id,
      host: hostname(),
      pid: process.pid,
      queues: stats.queues,
      pausedQueues: this.paused,
      concurrency: stats.concurrency,
      active: stats.active,
      startedAt: this.startedAt,
      sentAt: this.clock.now(),
      version: STEM_VERSION,
      succeeded: stats.succeeded,
      failed: stats.failed,
      retried: stats.retried,
    };
  }

  /** Answers one command, between `control-command-received` and `control-command-completed`. */
  private async handle(request: ControlRequest): Promise<unknown> {
    const { signals, id: workerId } = this.worker!;
    signals.emit('control-command-received', { workerId, request });
    try {
      const reply = await this.answer(request);
      signals.emit('control-command-completed', { workerId, request, ok: true, reply });
      return reply;
    } catch (error) {
      signals.emit('control-command-completed', { workerId, request, ok: false, error });
      throw error;
    }
  }

  private async answer(request: ControlRequest): Promise<unknown> {
    const worker = this.worker!;
    switch (request.type) {
      case 'ping':
        return { pong: true, at: this.clock.now() } satisfies PingReply;
      case 'stats':
        return this.stats();
      case 'inspect':
        return this.inspect();
      case 'revoke': {
        const terminated = await this.sync();
        return { revoked: this.extension.list(0).total, terminated } satisfies RevokeReply;
      }
      case 'pause':
      case 'resume':
        await this.sync();
        return { pausedQueues: this.paused, consumedQueues: worker.consumedQueues } satisfies PauseReply;
      case 'shutdown': {
        const { mode } = request.payload as ControlPayloads['shutdown'];
        // NOTE: the reply goes out first; the close starts once this turn of the event loop is over.
        this.clock.setTimeout(() => {
          this.events.emit('shutdown', mode);
          void worker.close({ mode });
        }, 0);
        return { mode, active: worker.stats().active } satisfies ShutdownReply;
      }
      case 'set-concurrency':
        worker.setConcurrency((request.payload as ControlPayloads['set-concurrency']).concurrency);
        return this.stats();
      case 'rate-limit': {
        const { task, limit } = request.payload as ControlPayloads['rate-limit'];
        worker.setRateLimit(task, limit === null ? null : parseRateLimit(limit, task));
        return { task, limit };
      }
      default:
        throw new Error(`Unknown control command "${String(request.type)}"; this worker runs Stem ${STEM_VERSION}`);
    }
  }

  private stats(): StatsReply {
    const worker = this.worker!;
    return {
      ...worker.stats(),
      prefetch: worker.prefetch,
      consumedQueues: worker.consumedQueues,
      pausedQueues: this.paused,
      revoked: this.extension.revoked,
      uptime: this.clock.now() - this.startedAt,
      memory: process.memoryUsage().rss,
      pid: process.pid,
      host: hostname(),
      version: STEM_VERSION,
    };
  }

  /** Active, prefetched and revoked lists, cut (totals stay exact) until the reply fits one message. */
  private inspect(): InspectReply {
    const { running, prefetched } = this.worker!.snapshot();
    const now = this.clock.now();
    const revoked = this.extension.list(INSPECT_LIST_LIMIT);
    for (let limit = INSPECT_LIST_LIMIT; ; limit = Math.floor(limit / 2)) {
      const reply: InspectReply = {
        active: running
          .slice(0, limit)
          .map(({ envelope: e, startedAt }) => ({ id: e.id, name: e.name, queue: e.queue, attempt: e.attempt, startedAt, runtimeMs: now - startedAt })),
        activeTotal: running.length,
        prefetched: prefetched.slice(0, limit).map((e) => ({ id: e.id, name: e.name, queue: e.queue, attempt: e.attempt })),
        prefetchedTotal: prefetched.length,
        revoked: revoked.ids.slice(0, limit),
        revokedTotal: revoked.total,
        pausedQueues: this.paused,
      };
      if (limit === 0 || JSON.stringify(reply).length <= MAX_REPLY_CHARS) return reply;
    }
  }
}
