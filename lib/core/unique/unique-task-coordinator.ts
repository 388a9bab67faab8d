import type { LockStore } from '../contracts/lock-store.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import type { Envelope } from '../envelope.js';
import { type Clock, systemClock } from '../utils/clock.js';
import { computeUniqueKey } from './unique-key.js';
import { DEDUPLICATED_METRIC, UniqueMeta } from './unique.constants.js';

/** A minimal counter sink (an OpenTelemetry meter adapter fits behind it). */
export interface CounterSink {
  increment(name: string, value?: number, attributes?: Readonly<Record<string, string>>): void;
}

/** Options of {@link UniqueTaskCoordinator}. */
export interface UniqueTaskCoordinatorOptions {
  /** Where unique locks live; share it between every producer (Redis/Postgres in production). */
  readonly lockStore: LockStore;
  /** Lock TTL in ms when neither `uniqueFor` nor a visibility timeout is set. @default 300000 (5 min) */
  readonly defaultTtl?: number;
  /** Prefix of lock keys. @default 'stem:unique' */
  readonly namespace?: string;
  /** Receives `stem.tasks.deduplicated`. */
  readonly metrics?: CounterSink;
  /** How long a duplicate waits for the owner's status to appear before it gives up recording itself. @default 2000 */
  readonly statusWaitMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A skipped duplicate, as recorded under `stem.unique.duplicates`. */
export interface UniqueDuplicate {
  readonly taskId: string;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
}

/**
 * Makes `unique` tasks publish once while a matching task is queued or running. The producer
 * claims a lock (owner = task id) before publishing; a duplicate gets the owner's id back. The
 * worker releases the lock when the owner reaches a terminal state; retries keep it.
 *
 * @example
 * const unique = new UniqueTaskCoordinator({ lockStore, defaultTtl: 10 * 60_000 });
 * const stem = new Stem({ broker, backend, uniqueCoordinator: unique });
 * const worker = new Worker({ broker, backend, registry, uniqueCoordinator: unique });
 * await stem.enqueue('orders.sync', { id: 42 }, { unique: true }); // same id for every duplicate
 */
export class UniqueTaskCoordinator {
  /** Default TTL in ms. */
  readonly defaultTtl: number;
  private readonly lockStore: LockStore;
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly metrics?: CounterSink;
  private readonly statusWaitMs: number;
  private readonly recording = new Map<string, Promise<void>>();

  constructor(options: UniqueTaskCoordinatorOptions) {
    this.lockStore = options.lockStore;
    this.defaultTtl = options.defaultTtl ?? 300_000;
    this.namespace = options.namespace ?? 'stem:unique';
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics;
    this.statusWaitMs = options.statusWaitMs ?? 2_000;
  }

  /** The unique key of a task: meta `stem.unique.override` if set, else {@link computeUniqueKey}. */
  keyFor(input: { task: string; queue: string; args: unknown; headers?: Readonly<Record<string, string>>; meta?: Readonly<Record<string, unknown>> }): string {
    const override = input.meta?.[UniqueMeta.override];
    if (typeof override === 'string' && override.length > 0) return override;
    return computeUniqueKey(input);
  }

  /** Lock TTL: `uniqueFor`, else the visibility timeout, else the default. */
  ttlFor(uniqueFor?: number, visibilityTimeout?: number): number {
    return uniqueFor ?? visibilityTimeout ?? this.defaultTtl;
  }

  /**
   * Meta to stamp on a unique envelope before it is signed and published.
   * @param id the task id that will own the lock
   */
  stamp(key: string, id: string, ttl: number): Record<string, unknown> {
    return { [UniqueMeta.key]: key, [UniqueMeta.owner]: id, [UniqueMeta.expiresAt]: this.clock.now() + ttl };
  }

  /**
   * Claims the lock of a stamped envelope. Resolves `null` when this envelope owns it (publish
   * it), or the id of the task that already does (do not publish). A duplicate is appended to
   * the owner's status meta and counted.
   */
  async claim(envelope: Envelope, backend?: ResultBackend): Promise<string | null> {
    const key = envelope.meta[UniqueMeta.key];
    if (typeof key !== 'string') return null;
    const lockKey = this.lockKey(key);
    const expiresAt = Number(envelope.meta[UniqueMeta.expiresAt]);
    const ttl = Number.isFinite(expiresAt) ? Math.max(1, expiresAt - this.clock.now()) : this.defaultTtl;
    for (let tries = 0; tries < 2; tries++) {
      if (await this.lockStore.acquire(lockKey, envelope.id, ttl)) return null;
      const owner = await this.lockStore.ownerOf(lockKey);
      if (owner === envelope.id) return null;
      if (owner) {
        this.metrics?.increment(DEDUPLICATED_METRIC, 1, { task: envelope.name, queue: envelope.queue });
        if (backend) await this.recordDuplicate(owner, envelope, backend);
        return owner;
      }
      // NOTE: the lock was released between acquire and ownerOf; one more try settles the race.
    }
    return null;
  }

  /** Whether `envelope` was enqueued under a unique key (its lock is released when it ends). */
  holdsLock(envelope: Envelope): boolean {
    return typeof envelope.meta[UniqueMeta.key] === 'string';
  }

  /** Releases the lock an envelope holds (by the worker on terminal states). */
  async release(envelope: Envelope): Promise<boolean> {
    const key = envelope.meta[UniqueMeta.key];
    if (typeof key !== 'string') return false;
    return this.lockStore.release(this.lockKey(key), envelope.id);
  }

  /** The task id holding a unique key, or `null`. */
  ownerOf(key: string): Promise<string | null> {
    return this.lockStore.ownerOf(this.lockKey(key));
  }

  private lockKey(key: string): string {
    return `${this.namespace}:${key}`;
  }

  private recordDuplicate(ownerId: string, envelope: Envelope, backend: ResultBackend): Promise<void> {
    if (backend.appendMeta) return this.appendDuplicate(ownerId, envelope, backend).catch(() => undefined);
    // NOTE: a backend without an atomic append gets a read-modify-write of the owner's meta;
    // duplicates of one owner are appended one at a time, so concurrent ones in this process do
    // not overwrite each other (other processes still can).
    const previous = this.recording.get(ownerId) ?? Promise.resolve();
    const next = previous.then(() => this.appendDuplicate(ownerId, envelope, backend)).catch(() => undefined);
    this.recording.set(ownerId, next);
    void next.finally(() => {
      if (this.recording.get(ownerId) === next) this.recording.delete(ownerId);
    });
    return next;
  }

  private async appendDuplicate(ownerId: string, envelope: Envelope, backend: ResultBackend): Promise<void> {
    const deadline = this.clock.now() + this.statusWaitMs;
    let status = await backend.get(ownerId);
    while (!status && this.clock.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      status = await backend.get(ownerId);
    }
    if (!status) return;
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(envelope.meta)) if (!k.startsWith('stem.') && !k.startsWith('__stem')) meta[k] = v;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(envelope.headers)) if (!k.startsWith('stem-')) headers[k] = v;
    const entry: UniqueDuplicate = { taskId: envelope.id, timestamp: this.clock.now(), headers, meta };
    if (backend.appendMeta) return backend.appendMeta(ownerId, UniqueMeta.duplicates, [entry]);
    const existing = Array.isArray(status.meta[UniqueMeta.duplicates]) ? (status.meta[UniqueMeta.duplicates] as UniqueDuplicate[]) : [];
    // NOTE: a meta-only merge, so a status the owner writes meanwhile (e.g. `succeeded` with its
    // result) is never replaced by the older one read above.
    await backend.touch(ownerId, { meta: { [UniqueMeta.duplicates]: [...existing, entry] } });
  }
}
